import type { StoredPortalReply } from '../../portal/portal-link-store.js';
import type { Db } from '../tables.js';

/** The recipient's own replies to the message, oldest first; never another recipient's. */
export async function listReplies(db: Db, messageId: string, recipientId: string): Promise<Pick<StoredPortalReply, 'createdAt' | 'contentSealed'>[]> {
  const rows = await db
    .selectFrom('secure_portal_replies')
    .select(['created_at', 'content_sealed'])
    .where('message_id', '=', messageId)
    .where('recipient_id', '=', recipientId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ createdAt: Number(row.created_at), contentSealed: row.content_sealed }));
}
