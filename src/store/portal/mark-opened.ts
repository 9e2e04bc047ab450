import type { Db } from '../tables.js';

/** Conditional on no view before: of two first views at once, one reports it (and writes the read receipt). */
export async function markOpened(db: Db, recipientId: string, at: number): Promise<boolean> {
  const first = await db
    .updateTable('secure_recipients')
    .set({ opened_at: at })
    .where('id', '=', recipientId)
    .where('opened_at', 'is', null)
    .executeTakeFirst();
  return Number(first.numUpdatedRows) === 1;
}
