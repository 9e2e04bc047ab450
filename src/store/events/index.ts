import type { EventStore } from '../../events/event-store.js';
import type { Db } from '../tables.js';
import { claimEvent } from './claim-event.js';
import { dueEvents } from './due-events.js';

export function sqlEventStore(db: Db): EventStore {
  return {
    async domainIdOf(name) {
      const domain = await db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst();
      return domain?.id;
    },
    due: (now, limit) => dueEvents(db, now, limit),
    claim: (event, until) => claimEvent(db, event, until),
    async remove(id) {
      await db.deleteFrom('event_deliveries').where('id', '=', id).execute();
    },
    async postpone(id, nextAttemptAt, lastReply) {
      await db.updateTable('event_deliveries').set({ next_attempt_at: nextAttemptAt, last_reply: lastReply }).where('id', '=', id).execute();
    },
    async recordFailure(id, attempt) {
      await db
        .updateTable('event_deliveries')
        .set({ attempts: attempt.attempts, last_reply: attempt.lastReply, status: attempt.status, next_attempt_at: attempt.nextAttemptAt })
        .where('id', '=', id)
        .execute();
    },
  };
}
