import type { Db } from '../tables.js';

/** Conditional on the row as read: of two requests racing, only one mails a code. */
export async function replaceCode(
  db: Db,
  recipientId: string,
  code: { hash: string; expiresAt: number; sentAt: number },
  sentBefore: number | null,
): Promise<boolean> {
  const updated = await db
    .updateTable('secure_recipients')
    .set({ otp_hash: code.hash, otp_expires_at: code.expiresAt, otp_attempts: 0, otp_sent_at: code.sentAt })
    .where('id', '=', recipientId)
    .where((eb) => (sentBefore === null ? eb('otp_sent_at', 'is', null) : eb('otp_sent_at', '=', sentBefore)))
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}
