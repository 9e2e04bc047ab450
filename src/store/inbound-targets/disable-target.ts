import type { Db } from '../tables.js';

/** Disables an enabled target; false when it was disabled already, or is gone. */
export async function disableTarget(trx: Db, id: string, at: number, reason: string): Promise<boolean> {
  const changed = await trx
    .updateTable('inbound_targets')
    .set({ disabled_at: at, disabled_reason: reason })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return Number(changed.numUpdatedRows) > 0;
}
