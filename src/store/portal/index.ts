import type { PortalLinkStore } from '../../portal/portal-link-store.js';
import type { Db } from '../tables.js';
import { messageOfRow, recipientOfRow } from './link-rows.js';
import { listReplies } from './list-replies.js';
import { markOpened } from './mark-opened.js';

/** The secure-message rows the recipients' portal reads and marks (src/portal/portal-link-store.ts). */
export function sqlPortalLinkStore(db: Db): PortalLinkStore {
  return {
    recipientByToken: async (tokenHash) => {
      const row = await db.selectFrom('secure_recipients').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && recipientOfRow(row);
    },
    message: async (id) => {
      const row = await db.selectFrom('secure_messages').selectAll().where('id', '=', id).executeTakeFirst();
      return row && messageOfRow(row);
    },
    markOpened: (recipientId, at) => markOpened(db, recipientId, at),
    markReplied: async (recipientId, at) => {
      await db.updateTable('secure_recipients').set({ replied_at: at }).where('id', '=', recipientId).execute();
    },
    readReceipts: async (organisationId) => {
      const org = await db.selectFrom('organisations').select(['read_receipts', 'read_receipt_format']).where('id', '=', organisationId).executeTakeFirst();
      return org && { enabled: org.read_receipts === 1, format: org.read_receipt_format === 'mdn' ? 'mdn' : 'text' };
    },
    insertReply: async (reply) => {
      await db
        .insertInto('secure_portal_replies')
        .values({
          id: reply.id,
          message_id: reply.messageId,
          recipient_id: reply.recipientId,
          created_at: reply.createdAt,
          content_sealed: reply.contentSealed,
        })
        .execute();
    },
    replies: (messageId, recipientId) => listReplies(db, messageId, recipientId),
  };
}
