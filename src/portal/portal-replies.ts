import { newId } from '../lib/ids.js';
import type { UnlockedMessage } from '../secure/vault.js';
import type { Db } from '../store/tables.js';

/** What the thread shows of one of the recipient's replies. */
export interface ThreadReply {
  sentAt: number;
  text: string;
  files: string[];
}

/** Bound into the AAD: a reply's ciphertext opens only as a reply of this message. */
const PORTAL_REPLY_PURPOSE = 'portal-reply';

/**
 * Keeps what the recipient wrote for their thread, sealed under the message's data key (not
 * the reply mail's own key, which the application's delivery may purge): it is readable only
 * while the message is, and only after the code, as the message is.
 */
export async function keepPortalReply(
  db: Db,
  unlocked: UnlockedMessage,
  recipientId: string,
  reply: { text: string; files: string[]; now: number },
): Promise<void> {
  await db
    .insertInto('secure_portal_replies')
    .values({
      id: newId('sprp'),
      message_id: unlocked.row.id,
      recipient_id: recipientId,
      created_at: reply.now,
      content_sealed: unlocked.sealText(PORTAL_REPLY_PURPOSE, JSON.stringify({ text: reply.text, files: reply.files })),
    })
    .execute();
}

/** The recipient's own replies, oldest first; never another recipient's. */
export async function portalThread(db: Db, unlocked: UnlockedMessage, recipientId: string): Promise<ThreadReply[]> {
  const rows = await db
    .selectFrom('secure_portal_replies')
    .select(['created_at', 'content_sealed'])
    .where('message_id', '=', unlocked.row.id)
    .where('recipient_id', '=', recipientId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => {
    const content = JSON.parse(unlocked.openText(PORTAL_REPLY_PURPOSE, row.content_sealed)) as { text: string; files: string[] };
    return { sentAt: Number(row.created_at), text: content.text, files: content.files };
  });
}
