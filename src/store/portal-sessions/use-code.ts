import type { Db } from '../tables.js';

/** Single use: a right code is cleared by the same statement that proves it was still there, and gives the wrong code it took back. */
export async function useCode(db: Db, recipientId: string, otpHash: string | null): Promise<boolean> {
  const cleared = await db
    .updateTable('secure_recipients')
    .set((eb) => ({ otp_hash: null, otp_expires_at: null, otp_attempts: 0, otp_failures: eb('otp_failures', '-', 1) }))
    .where('id', '=', recipientId)
    .where('otp_hash', '=', otpHash)
    .executeTakeFirst();
  return Number(cleared.numUpdatedRows) === 1;
}
