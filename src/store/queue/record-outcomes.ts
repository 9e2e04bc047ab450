import type { Transaction } from 'kysely';
import type { AttemptRecord, RecipientUpdate } from '../../queue/queue-store.js';
import { prepared } from '../prepared.js';
import type { Database, Db } from '../tables.js';
import { transact } from '../transact.js';
import { insertEventRow, insertMessage } from './insert-message.js';
import { type Announce, OPEN } from './recipient-states.js';

// The statements of every attempt, built once (prepared.ts).
const updateRecipient = prepared<{ status: RecipientUpdate['status']; next_attempt_at: number; last_attempt_at: number; last_reply: string; id: number }>(
  ['status', 'next_attempt_at', 'last_attempt_at', 'last_reply', 'id'],
  (db, v) =>
    db
      .updateTable('recipients')
      .set((eb) => ({
        status: v.status,
        attempts: eb('attempts', '+', 1),
        next_attempt_at: v.next_attempt_at,
        last_attempt_at: v.last_attempt_at,
        last_reply: v.last_reply,
        lease_owner: null,
        lease_until: null,
      }))
      .where('id', '=', v.id),
);

/** Completed once no recipient is open; the id is bound twice, as the SQL names it twice. */
const completeMessage = prepared<{ completed_at: number; id: string }>(['completed_at', 'id'], (db, v) =>
  db
    .updateTable('messages')
    .set({ completed_at: v.completed_at })
    .where('id', '=', v.id)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('recipients').select('id').where('message_id', '=', v.id).where('status', 'in', OPEN)))),
);

/**
 * Every attempt of a batch in one transaction: the recipients' new states with their events,
 * the webhook events, a DSN as a new message; returns the messages no recipient keeps open.
 */
export function recordOutcomes(db: Db, announce: Announce, attempts: AttemptRecord[], now: number): Promise<Set<string>> {
  return transact(db, async (trx) => {
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
      const done = await completeMessage(trx, { completed_at: now, id: messageId });
      if (Number(done.numAffectedRows) > 0) completed.add(messageId);
    }
    return completed;
  });
}

async function applyUpdate(trx: Transaction<Database>, messageId: string, update: RecipientUpdate, now: number): Promise<void> {
  await updateRecipient(trx, { status: update.status, next_attempt_at: update.nextAttemptAt, last_attempt_at: now, last_reply: update.reply, id: update.id });
  // A reply that already names its check ("dane: …") is not prefixed twice.
  const detail = update.reason && !update.reply.startsWith(`${update.reason}: `) ? `${update.reason}: ${update.reply}` : update.reply;
  const evidence = update.evidence ? JSON.stringify(update.evidence) : null;
  await insertEventRow(trx, { message_id: messageId, at: now, kind: update.status, recipient: update.address, detail, evidence });
}
