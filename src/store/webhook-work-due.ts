import { sql } from 'kysely';
import { engineOf } from './engine.js';
import { QUEUE_CHANNEL } from './queue/recipient-states.js';
import type { Db } from './tables.js';

/**
 * Makes the webhook work that waited for a disabled target due now, in the caller's
 * transaction: inbound mail that was deferred, and pending delivery events. Every deferred
 * inbound recipient is taken, not only this target's: which target a recipient goes to is
 * decided per attempt (address or alias → domain → target), and an early retry of another
 * target's mail costs one attempt, while re-enabling is a rare, manual step.
 */
export async function makeWebhookWorkDue(trx: Db, now: number): Promise<void> {
  const inbound = trx.selectFrom('messages').select('id').where('direction', '=', 'inbound');
  await trx
    .updateTable('recipients')
    .set({ next_attempt_at: now })
    .where('status', '=', 'deferred')
    .where('next_attempt_at', '>', now)
    .where('message_id', 'in', inbound)
    .execute();
  await trx.updateTable('event_deliveries').set({ next_attempt_at: now }).where('status', '=', 'pending').where('next_attempt_at', '>', now).execute();
  // Workers of other instances hear of it at once, as they do of new mail.
  if (engineOf(trx) === 'postgres') await sql`select pg_notify(${QUEUE_CHANNEL} || ':' || current_schema(), '')`.execute(trx);
}
