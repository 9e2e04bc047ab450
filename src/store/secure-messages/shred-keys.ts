import type { Db } from '../tables.js';

/** The data key first: once it is gone no copy of the ciphertext opens again. Then the tokens, code hashes and sessions. */
export async function shredKeys(db: Db, messageId: string, at: number): Promise<void> {
  await db.updateTable('secure_messages').set({ data_key_sealed: null, shredded_at: at }).where('id', '=', messageId).execute();
  await db.updateTable('secure_recipients').set({ token_sealed: null, otp_hash: null }).where('message_id', '=', messageId).execute();
  await db
    .deleteFrom('portal_sessions')
    .where('recipient_id', 'in', db.selectFrom('secure_recipients').select('id').where('message_id', '=', messageId))
    .execute();
}
