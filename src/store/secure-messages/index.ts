import type { Kysely } from 'kysely';
import type { SecureMessageChanges, SecureMessageReads, SecureMessageStore } from '../../secure/secure-message-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Database, Db } from '../tables.js';
import { listSecureMessages } from './list-secure-messages.js';
import { messageRecord, recipientRecord } from './records.js';
import { revokeMessage, revokeRecipient } from './revoke.js';
import { shredKeys } from './shred-keys.js';

function secureMessageReads(db: Kysely<Database>): SecureMessageReads {
  return {
    async find(id, organisationId) {
      const row = await db
        .selectFrom('secure_messages')
        .selectAll()
        .where('id', '=', id)
        .$if(organisationId !== undefined, (q) => q.where('organisation_id', '=', organisationId ?? ''))
        .executeTakeFirst();
      return row && messageRecord(row);
    },
    list: (query, page) => listSecureMessages(db, query, page),
    async recipients(messageId) {
      const rows = await db.selectFrom('secure_recipients').selectAll().where('message_id', '=', messageId).orderBy('address').execute();
      return rows.map(recipientRecord);
    },
    async dueForShredding(now, limit) {
      const rows = await db
        .selectFrom('secure_messages')
        .select(['id', 'retain_until'])
        .where('shredded_at', 'is', null)
        .where('retain_until', '<=', now)
        .orderBy('retain_until')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, retainUntil: Number(r.retain_until) }));
    },
  };
}

function secureMessageChanges(trx: Kysely<Database>): SecureMessageChanges {
  return {
    revoke: (messageId, at) => revokeMessage(trx, messageId, at),
    revokeRecipient: (recipientId, at) => revokeRecipient(trx, recipientId, at),
    async unlockRecipient(recipientId) {
      await trx
        .updateTable('secure_recipients')
        .set({ locked_at: null, otp_failures: 0, otp_attempts: 0, otp_hash: null, otp_expires_at: null, otp_sent_at: null })
        .where('id', '=', recipientId)
        .execute();
    },
    async recordEvent(e) {
      await trx.insertInto('events').values({ message_id: e.messageId, at: e.at, kind: e.kind, recipient: e.recipient, detail: e.detail }).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

/** Secure messages with their recipients and the hashes that link replies to them. */
export function sqlSecureMessageStore(db: Db): SecureMessageStore {
  return {
    ...secureMessageReads(db),
    change: (work) => db.transaction().execute((trx) => work(secureMessageChanges(trx))),
    shredKeys: (messageId, at) => shredKeys(db, messageId, at),
    async removePortalReplies(messageId) {
      await db.deleteFrom('secure_portal_replies').where('message_id', '=', messageId).execute();
    },
    async removeRefs(messageId) {
      await db.deleteFrom('secure_message_refs').where('secure_message_id', '=', messageId).execute();
    },
    async messageByRef(refHashes) {
      if (refHashes.length === 0) return null;
      const row = await db.selectFrom('secure_message_refs').select('secure_message_id').where('ref_hash', 'in', refHashes).executeTakeFirst();
      return row?.secure_message_id ?? null;
    },
    async endExpiredSessions(now) {
      const ended = await db.deleteFrom('portal_sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(ended.numDeletedRows);
    },
  };
}
