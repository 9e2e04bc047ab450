import type { DeliveryEvidence } from '../../model/outcome.js';
import type { MessageView, QueueStore } from '../../queue/queue-store.js';
import type { Database, Db, RecipientsTable } from '../tables.js';

/** The operator's view of the queue: newest first, optionally with completed messages. */
export async function listMessages(db: Db, { includeCompleted, limit }: { includeCompleted: boolean; limit: number }): Promise<MessageView[]> {
  let query = db.selectFrom('messages').selectAll().orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit);
  if (!includeCompleted) query = query.where('completed_at', 'is', null);
  const messages = await query.execute();
  if (messages.length === 0) return [];
  const recipients = await db
    .selectFrom('recipients')
    .selectAll()
    .where(
      'message_id',
      'in',
      messages.map((m) => m.id),
    )
    .orderBy('position')
    .execute();
  return messages.map((m) => toView(m, recipients));
}

/** One message with its recipients and its history. */
export async function showMessage(db: Db, id: string): ReturnType<QueueStore['show']> {
  const message = await db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
  if (!message) return undefined;
  const recipients = await db.selectFrom('recipients').selectAll().where('message_id', '=', id).orderBy('position').execute();
  const events = await db.selectFrom('events').select(['at', 'kind', 'recipient', 'detail', 'evidence']).where('message_id', '=', id).orderBy('id').execute();
  return { ...toView(message, recipients), events: events.map((e) => ({ ...e, at: Number(e.at), evidence: parseEvidence(e.evidence) })) };
}

/** Evidence is written by this store only; a row it cannot read shows as none rather than failing the whole view. */
function parseEvidence(text: string | null): DeliveryEvidence | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as DeliveryEvidence;
  } catch {
    return null;
  }
}

type MessageRow = Database['messages'];
type RecipientRow = Omit<RecipientsTable, 'id'> & { id: number };

function toView(m: MessageRow, recipients: RecipientRow[]): MessageView {
  return {
    id: m.id,
    mailFrom: m.mail_from,
    sizeBytes: Number(m.size_bytes),
    receivedAt: Number(m.received_at),
    expiresAt: Number(m.expires_at),
    completedAt: m.completed_at === null ? null : Number(m.completed_at),
    isDsn: m.is_dsn === 1,
    direction: m.direction,
    recipients: recipients
      .filter((r) => r.message_id === m.id)
      .map((r) => ({
        address: r.address,
        status: r.status,
        attempts: r.attempts,
        nextAttemptAt: r.status === 'queued' || r.status === 'deferred' ? Number(r.next_attempt_at) : null,
        lastAttemptAt: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
        lastReply: r.last_reply,
      })),
  };
}
