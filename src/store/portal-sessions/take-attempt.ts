import type { TakenAttempt } from '../../portal/portal-session-store.js';
import type { Db } from '../tables.js';

/**
 * One conditional update takes one of the code's attempts and one of the link's lifetime
 * wrong codes, so guesses sent in parallel can never test more than the limits allow, on any
 * instance. A code of null matches nothing (SQL `= null`), as before.
 */
export async function takeAttempt(
  db: Db,
  recipientId: string,
  otpHash: string | null,
  limits: { maxAttempts: number; maxWrongCodes: number },
): Promise<TakenAttempt | undefined> {
  const reserved = await db
    .updateTable('secure_recipients')
    .set((eb) => ({ otp_attempts: eb('otp_attempts', '+', 1), otp_failures: eb('otp_failures', '+', 1) }))
    .where('id', '=', recipientId)
    .where('otp_hash', '=', otpHash)
    .where('otp_attempts', '<', limits.maxAttempts)
    .where('otp_failures', '<', limits.maxWrongCodes)
    .where('locked_at', 'is', null)
    .returning(['otp_attempts', 'otp_failures'])
    .executeTakeFirst();
  return reserved && { attempts: Number(reserved.otp_attempts), wrongCodes: Number(reserved.otp_failures) };
}
