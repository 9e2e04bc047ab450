import { sql } from 'kysely';
import type { Db } from '../tables.js';
import { type Announce, OPEN } from './recipient-states.js';

/**
 * An operator's retry: every open recipient due now, the message open again and kept at least
 * until `expiresAt`, and an event saying who made it due; returns how many recipients.
 */
export function retryMessage(db: Db, announce: Announce, id: string, now: number, expiresAt: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('recipients')
      .set({ next_attempt_at: now, status: 'queued' })
      .where('message_id', '=', id)
      .where('status', 'in', OPEN)
      .returning(['address', 'status'])
      .execute();
    if (rows.length === 0) return 0;
    await trx
      .updateTable('messages')
      .set({ expires_at: sql<number>`case when expires_at > ${expiresAt} then expires_at else ${expiresAt} end`, completed_at: null })
      .where('id', '=', id)
      .execute();
    await trx
      .insertInto('events')
      .values({ message_id: id, at: now, kind: 'retry', recipient: null, detail: `${rows.length} recipient(s) made due by an operator` })
      .execute();
    await announce(trx);
    return rows.length;
  });
}
