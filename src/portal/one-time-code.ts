import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db, SecureRecipientsTable } from '../store/tables.js';

export const CODE_LIFETIME_MS = 10 * 60_000;
export const CODE_MAX_ATTEMPTS = 5;
/** A mailbox gets at most one code per this interval, whoever asks. */
export const CODE_RESEND_INTERVAL_MS = 30_000;

export type CodeState = 'none' | 'pending' | 'expired' | 'exhausted';
export type CodeRequest = { kind: 'issued'; code: string } | { kind: 'too-soon'; waitSeconds: number };
export type CodeCheck = { kind: 'ok' } | { kind: 'wrong'; attemptsLeft: number } | { kind: 'malformed' } | { kind: Exclude<CodeState, 'pending'> };

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

/** Single use: a right code is cleared by the same statement that proves it was still there. */
export async function checkCode(db: Db, hashKey: Buffer, row: Row, typed: string, now: number): Promise<CodeCheck> {
  const state = codeState(row, now);
  if (state !== 'pending') return { kind: state };
  const code = typed.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(code)) return { kind: 'malformed' };
  const expected = Buffer.from(row.otp_hash ?? '', 'hex');
  const given = Buffer.from(codeHash(hashKey, row.id, code), 'hex');
  const same = expected.length === given.length && timingSafeEqual(expected, given);
  const base = db.updateTable('secure_recipients').where('id', '=', row.id).where('otp_hash', '=', row.otp_hash);
  if (same) {
    const cleared = await base.set({ otp_hash: null, otp_expires_at: null, otp_attempts: 0 }).where('otp_attempts', '<', CODE_MAX_ATTEMPTS).executeTakeFirst();
    return Number(cleared.numUpdatedRows) === 1 ? { kind: 'ok' } : { kind: 'none' };
  }
  await base.set((eb) => ({ otp_attempts: eb('otp_attempts', '+', 1) })).execute();
  const after = await db.selectFrom('secure_recipients').select('otp_attempts').where('id', '=', row.id).executeTakeFirst();
  const attemptsLeft = Math.max(0, CODE_MAX_ATTEMPTS - (after?.otp_attempts ?? CODE_MAX_ATTEMPTS));
  return attemptsLeft === 0 ? { kind: 'exhausted' } : { kind: 'wrong', attemptsLeft };
}
