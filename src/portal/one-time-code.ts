import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db, SecureRecipientsTable } from '../store/tables.js';

export const CODE_LIFETIME_MS = 10 * 60_000;
export const CODE_MAX_ATTEMPTS = 5;
/**
 * Wrong codes a link may see over its lifetime, across all its codes, before it locks until
 * the sender or an admin unlocks it: a guesser then has 20 chances in a million, however many
 * codes are asked for. A recipient who mistypes twice a message never comes near it.
 */
export const LINK_MAX_WRONG_CODES = 20;
/** A mailbox gets at most one code per this interval, whoever asks. */
export const CODE_RESEND_INTERVAL_MS = 30_000;

export type CodeState = 'none' | 'pending' | 'expired' | 'exhausted';
export type CodeRequest = { kind: 'issued'; code: string } | { kind: 'too-soon'; waitSeconds: number };
export type CodeCheck =
  | { kind: 'ok' }
  /** `wrongCodes`: the link's lifetime count, this one included. */
  | { kind: 'wrong'; attemptsLeft: number; wrongCodes: number }
  | { kind: 'locked'; wrongCodes: number }
  | { kind: 'malformed' }
  | { kind: Exclude<CodeState, 'pending'> };

type Row = Pick<SecureRecipientsTable, 'id' | 'otp_hash' | 'otp_expires_at' | 'otp_attempts' | 'otp_sent_at'>;

/**
 * The code is kept only as a keyed hash (HMAC-SHA256 under the store's hash key, bound to the
 * recipient), so neither a database copy nor another recipient's row can be used to guess it:
 * a million codes cost nothing to hash, the key is what makes them worthless to a reader.
 */
function codeHash(hashKey: Buffer, recipientId: string, code: string): string {
  return createHmac('sha256', hashKey).update(`portal-otp\0${recipientId}\0${code}`).digest('hex');
}

export function codeState(row: Row, now: number): CodeState {
  if (row.otp_hash === null) return 'none';
  if (row.otp_attempts >= CODE_MAX_ATTEMPTS) return 'exhausted';
  if ((row.otp_expires_at ?? 0) <= now) return 'expired';
  return 'pending';
}

/** A new six-digit code replaces any earlier one, with a fresh attempt count. */
export async function issueCode(db: Db, hashKey: Buffer, row: Row, now: number): Promise<CodeRequest> {
  const since = row.otp_sent_at === null ? Number.POSITIVE_INFINITY : now - row.otp_sent_at;
  if (since < CODE_RESEND_INTERVAL_MS) return { kind: 'too-soon', waitSeconds: Math.ceil((CODE_RESEND_INTERVAL_MS - since) / 1000) };
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  // Conditional on the row as read: of two requests racing, only one mails a code.
  const updated = await db
    .updateTable('secure_recipients')
    .set({ otp_hash: codeHash(hashKey, row.id, code), otp_expires_at: now + CODE_LIFETIME_MS, otp_attempts: 0, otp_sent_at: now })
    .where('id', '=', row.id)
    .where((eb) => (row.otp_sent_at === null ? eb('otp_sent_at', 'is', null) : eb('otp_sent_at', '=', row.otp_sent_at)))
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return { kind: 'too-soon', waitSeconds: Math.ceil(CODE_RESEND_INTERVAL_MS / 1000) };
  return { kind: 'issued', code };
}

/**
 * Single use: a right code is cleared by the same statement that proves it was still there.
 * Each guess first takes one of the code's attempts and one of the link's lifetime wrong
 * codes in one conditional update, then compares; a right code gives the wrong code back.
 * So guesses sent in parallel can never test more than the limits allow, on any instance.
 */
export async function checkCode(db: Db, hashKey: Buffer, row: Row, typed: string, now: number): Promise<CodeCheck> {
  const state = codeState(row, now);
  if (state !== 'pending') return { kind: state };
  const code = typed.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(code)) return { kind: 'malformed' };
  const reserved = await db
    .updateTable('secure_recipients')
    .set((eb) => ({ otp_attempts: eb('otp_attempts', '+', 1), otp_failures: eb('otp_failures', '+', 1) }))
    .where('id', '=', row.id)
    .where('otp_hash', '=', row.otp_hash)
    .where('otp_attempts', '<', CODE_MAX_ATTEMPTS)
    .where('otp_failures', '<', LINK_MAX_WRONG_CODES)
    .where('locked_at', 'is', null)
    .returning(['otp_attempts', 'otp_failures'])
    .executeTakeFirst();
  if (!reserved) return refusedBefore(db, row.id, now);
  const expected = Buffer.from(row.otp_hash ?? '', 'hex');
  const given = Buffer.from(codeHash(hashKey, row.id, code), 'hex');
  if (expected.length === given.length && timingSafeEqual(expected, given)) {
    const cleared = await db
      .updateTable('secure_recipients')
      .set((eb) => ({ otp_hash: null, otp_expires_at: null, otp_attempts: 0, otp_failures: eb('otp_failures', '-', 1) }))
      .where('id', '=', row.id)
      .where('otp_hash', '=', row.otp_hash)
      .executeTakeFirst();
    return Number(cleared.numUpdatedRows) === 1 ? { kind: 'ok' } : { kind: 'none' };
  }
  return { kind: 'wrong', attemptsLeft: Math.max(0, CODE_MAX_ATTEMPTS - reserved.otp_attempts), wrongCodes: reserved.otp_failures };
}

/** Why no attempt was left to take: the link is locked (or about to be), or the code was used up or replaced meanwhile. */
async function refusedBefore(db: Db, id: string, now: number): Promise<CodeCheck> {
  const fresh = await db.selectFrom('secure_recipients').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  if (fresh.locked_at !== null || fresh.otp_failures >= LINK_MAX_WRONG_CODES) return { kind: 'locked', wrongCodes: fresh.otp_failures };
  const state = codeState(fresh, now);
  return state === 'pending' ? { kind: 'exhausted' } : { kind: state };
}
