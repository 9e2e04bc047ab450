import type { Kysely } from 'kysely';
import type { Database } from '../tables.js';

/** Portal sessions of these recipients end now: a revoked reader is not left with an open page. */
async function endSessions(trx: Kysely<Database>, recipients: { messageId: string } | { recipientId: string }): Promise<void> {
  const ids =
    'recipientId' in recipients ? [recipients.recipientId] : trx.selectFrom('secure_recipients').select('id').where('message_id', '=', recipients.messageId);
  await trx.deleteFrom('portal_sessions').where('recipient_id', 'in', ids).execute();
}

export async function revokeMessage(trx: Kysely<Database>, messageId: string, at: number): Promise<void> {
  await trx.updateTable('secure_messages').set({ revoked_at: at }).where('id', '=', messageId).where('revoked_at', 'is', null).execute();
  await endSessions(trx, { messageId });
}

export async function revokeRecipient(trx: Kysely<Database>, recipientId: string, at: number): Promise<void> {
  await trx.updateTable('secure_recipients').set({ revoked_at: at }).where('id', '=', recipientId).where('revoked_at', 'is', null).execute();
  await endSessions(trx, { recipientId });
}
