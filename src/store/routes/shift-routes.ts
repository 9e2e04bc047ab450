import type { Db } from '../tables.js';

/**
 * Moves the rules at positions from…to (inclusive; to the end without `to`) by `by`. No
 * sentinel for the end: PostgreSQL refuses a bound beyond its integer column's range.
 */
export async function shiftRoutes(trx: Db, organisationId: string, range: { from: number; to?: number | undefined; by: 1 | -1 }): Promise<void> {
  const { to } = range;
  if (to !== undefined && range.from > to) return;
  await trx
    .updateTable('routes')
    .set((eb) => ({ position: eb('position', '+', range.by) }))
    .where('organisation_id', '=', organisationId)
    .where('position', '>=', range.from)
    .$if(to !== undefined, (qb) => qb.where('position', '<=', to as number))
    .execute();
}
