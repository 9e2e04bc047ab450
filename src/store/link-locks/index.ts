import type { LinkLockChanges, LinkLockStore } from '../../portal/link-lock-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { wrongCodesOfAddress } from './wrong-codes-of-address.js';

function linkLockChanges(trx: Db): LinkLockChanges {
  return {
    lockRecipient: async (recipientId, at) => {
      const locked = await trx
        .updateTable('secure_recipients')
        .set({ locked_at: at })
        .where('id', '=', recipientId)
        .where('locked_at', 'is', null)
        .executeTakeFirst();
      return Number(locked.numUpdatedRows) === 1;
    },
    endSessions: async (recipientId) => {
      await trx.deleteFrom('portal_sessions').where('recipient_id', '=', recipientId).execute();
    },
    logEvent: async (e) => {
      await trx.insertInto('events').values({ message_id: e.messageId, at: e.at, kind: e.kind, recipient: e.recipient, detail: e.detail }).execute();
    },
    queueWebhookEvent: async (e) => {
      await trx
        .insertInto('event_deliveries')
        .values({
          id: e.id,
          sender_domain: e.senderDomain,
          payload: e.payload,
          status: 'pending',
          attempts: 0,
          next_attempt_at: e.at,
          expires_at: e.expiresAt,
          last_reply: null,
          created_at: e.at,
        })
        .execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

/** Portal links locked by wrong codes (src/portal/link-lock-store.ts). */
export function sqlLinkLockStore(db: Db): LinkLockStore {
  return {
    wrongCodesOfAddress: (address, now) => wrongCodesOfAddress(db, address, now),
    change: (work) => db.transaction().execute((trx) => work(linkLockChanges(trx))),
  };
}
