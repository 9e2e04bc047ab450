import type { PendingEvent } from '../../events/event-store.js';
import type { Db } from '../tables.js';

/**
 * Several instances may dispatch at once: the one that moves the event past its send time
 * owns this attempt (an attempt that dies with its instance is retried then).
 */
export async function claimEvent(db: Db, event: Pick<PendingEvent, 'id' | 'nextAttemptAt'>, until: number): Promise<boolean> {
  const claimed = await db
    .updateTable('event_deliveries')
    .set({ next_attempt_at: until })
    .where('id', '=', event.id)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '=', event.nextAttemptAt)
    .executeTakeFirst();
  return Number(claimed.numUpdatedRows) > 0;
}
