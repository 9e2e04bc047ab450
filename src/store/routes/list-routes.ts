import type { PageRequest } from '../../directory/context.js';
import type { Route } from '../../directory/routes.js';
import type { Db } from '../tables.js';
import { toRoute } from './route-row.js';

/** A page of the organisation's rules in position order, and how many it has. */
export async function listRoutes(db: Db, organisationId: string, page: PageRequest): Promise<{ items: Route[]; total: number }> {
  const total = await db
    .selectFrom('routes')
    .where('organisation_id', '=', organisationId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  const rows = await db
    .selectFrom('routes')
    .selectAll()
    .where('organisation_id', '=', organisationId)
    .orderBy('position')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return { items: rows.map(toRoute), total: Number(total?.n ?? 0) };
}
