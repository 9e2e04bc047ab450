import { sql } from 'kysely';
import type { Db } from '../tables.js';
import { ACTIVE } from './recipient-states.js';

/** When the earliest open recipient can next be claimed, leaving out the messages `excluded` names; undefined when none. */
export async function nextDueAt(db: Db, excluded: readonly string[]): Promise<number | undefined> {
  // A leased recipient waits for its lease: a crashed instance's work is due when that runs out.
  const claimableAt = sql<number>`case when lease_until is not null and lease_until > next_attempt_at then lease_until else next_attempt_at end`;
  let query = db
    .selectFrom('recipients')
    .select((eb) => eb.fn.min(claimableAt).as('next'))
    .where('status', 'in', ACTIVE);
  // Rows a failed compensation left behind are never claimed: they must not keep the worker polling.
  if (excluded.length > 0) query = query.where('message_id', 'not in', excluded);
  const row = await query.executeTakeFirst();
  return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
}
