import type { Transaction } from 'kysely';
import type { AttemptRecord, RecipientUpdate } from '../../queue/queue-store.js';
import type { Database, Db } from '../tables.js';
import { insertMessage } from './insert-message.js';
import { type Announce, OPEN } from './recipient-states.js';

/**
 * Every attempt of a batch in one transaction: the recipients' new states with their events,
 * the webhook events, a DSN as a new message; returns the messages no recipient keeps open.
 */
export function recordOutcomes(db: Db, announce: Announce, attempts: AttemptRecord[], now: number): Promise<Set<string>> {
  return db.transaction().execute(async (trx) => {
    const completed = new Set<string>();
    for (const { messageId, updates, dsn, events } of attempts) {
      for (const update of updates) await applyUpdate(trx, messageId, update, now);
      if (events?.length)
        await trx
          .insertInto('event_deliveries')
          .values(
            events.map((e) => ({
              id: e.id,
              sender_domain: e.senderDomain,
              payload: e.payload,
              status: 'pending' as const,
              attempts: 0,
              next_attempt_at: now,
              expires_at: e.expiresAt,
              last_reply: null,
              created_at: now,
            })),
          )
          .execute();
      if (dsn) {
        await insertMessage(trx, dsn);
        await announce(trx);
        await trx.insertInto('events').values({ message_id: messageId, at: now, kind: 'dsn', recipient: null, detail: dsn.id }).execute();
      }
      const done = await trx
        .updateTable('messages')
        .set({ completed_at: now })
        .where('id', '=', messageId)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('recipients').select('id').where('message_id', '=', messageId).where('status', 'in', OPEN))))
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) > 0) completed.add(messageId);
    }
    return completed;
  });
}

async function applyUpdate(trx: Transaction<Database>, messageId: string, update: RecipientUpdate, now: number): Promise<void> {
  await trx
    .updateTable('recipients')
    .set((eb) => ({
      status: update.status,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: update.nextAttemptAt,
      last_attempt_at: now,
      last_reply: update.reply,
      lease_owner: null,
      lease_until: null,
    }))
    .where('id', '=', update.id)
    .execute();
  // A reply that already names its check ("dane: …") is not prefixed twice.
  const detail = update.reason && !update.reply.startsWith(`${update.reason}: `) ? `${update.reason}: ${update.reply}` : update.reply;
  const evidence = update.evidence ? JSON.stringify(update.evidence) : null;
  await trx.insertInto('events').values({ message_id: messageId, at: now, kind: update.status, recipient: update.address, detail, evidence }).execute();
}
