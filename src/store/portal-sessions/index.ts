import type { PortalSessionStore } from '../../portal/portal-session-store.js';
import type { Db } from '../tables.js';
import { replaceCode } from './replace-code.js';
import { takeAttempt } from './take-attempt.js';
import { useCode } from './use-code.js';

/** The portal's sessions and one-time codes (src/portal/portal-session-store.ts). */
export function sqlPortalSessionStore(db: Db): PortalSessionStore {
  return {
    insertSession: async (s) => {
      await db
        .insertInto('portal_sessions')
        .values({ id_hash: s.idHash, recipient_id: s.recipientId, created_at: s.createdAt, expires_at: s.expiresAt })
        .execute();
    },
    findSession: async (idHash) => {
      const row = await db.selectFrom('portal_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      return row && { idHash: row.id_hash, recipientId: row.recipient_id, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
    },
    extendSession: async (idHash, expiresAt) => {
      await db.updateTable('portal_sessions').set({ expires_at: expiresAt }).where('id_hash', '=', idHash).execute();
    },
    removeSession: async (idHash) => {
      await db.deleteFrom('portal_sessions').where('id_hash', '=', idHash).execute();
    },
    replaceCode: (recipientId, code, sentBefore) => replaceCode(db, recipientId, code, sentBefore),
    takeAttempt: (recipientId, otpHash, limits) => takeAttempt(db, recipientId, otpHash, limits),
    useCode: (recipientId, otpHash) => useCode(db, recipientId, otpHash),
    codeLink: async (recipientId) => {
      const row = await db
        .selectFrom('secure_recipients')
        .select(['id', 'otp_hash', 'otp_expires_at', 'otp_attempts', 'otp_sent_at', 'otp_failures', 'locked_at'])
        .where('id', '=', recipientId)
        .executeTakeFirstOrThrow();
      return {
        id: row.id,
        otpHash: row.otp_hash,
        otpExpiresAt: row.otp_expires_at,
        otpAttempts: Number(row.otp_attempts),
        otpSentAt: row.otp_sent_at,
        otpFailures: Number(row.otp_failures),
        lockedAt: row.locked_at,
      };
    },
  };
}
