import type { PendingEvent } from '../../events/event-store.js';
import type { Db } from '../tables.js';

/** Pending events due at `now`, soonest first, at most `limit`. */
export async function dueEvents(db: Db, now: number, limit: number): Promise<PendingEvent[]> {
  const rows = await db
    .selectFrom('event_deliveries')
    .selectAll()
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    senderDomain: row.sender_domain,
    payload: row.payload,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
    expiresAt: Number(row.expires_at),
  }));
}
