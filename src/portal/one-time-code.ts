import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { CodeHolder, PortalSessionStore } from './portal-session-store.js';

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

/**
 * The code is kept only as a keyed hash (HMAC-SHA256 under the store's hash key, bound to the
 * recipient), so neither a database copy nor another recipient's row can be used to guess it:
 * a million codes cost nothing to hash, the key is what makes them worthless to a reader.
 */
function codeHash(hashKey: Buffer, recipientId: string, code: string): string {
  return createHmac('sha256', hashKey).update(`portal-otp\0${recipientId}\0${code}`).digest('hex');
}

export function codeState(row: CodeHolder, now: number): CodeState {
  if (row.otpHash === null) return 'none';
  if (row.otpAttempts >= CODE_MAX_ATTEMPTS) return 'exhausted';
  if ((row.otpExpiresAt ?? 0) <= now) return 'expired';
  return 'pending';
}

/** A new six-digit code replaces any earlier one, with a fresh attempt count. */
export async function issueCode(codes: PortalSessionStore, hashKey: Buffer, row: CodeHolder, now: number): Promise<CodeRequest> {
  const since = row.otpSentAt === null ? Number.POSITIVE_INFINITY : now - row.otpSentAt;
  if (since < CODE_RESEND_INTERVAL_MS) return { kind: 'too-soon', waitSeconds: Math.ceil((CODE_RESEND_INTERVAL_MS - since) / 1000) };
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  // Conditional on the row as read: of two requests racing, only one mails a code.
  const replaced = await codes.replaceCode(row.id, { hash: codeHash(hashKey, row.id, code), expiresAt: now + CODE_LIFETIME_MS, sentAt: now }, row.otpSentAt);
  if (!replaced) return { kind: 'too-soon', waitSeconds: Math.ceil(CODE_RESEND_INTERVAL_MS / 1000) };
  return { kind: 'issued', code };
}

/**
 * Single use: a right code is cleared by the same statement that proves it was still there.
 * Each guess first takes one of the code's attempts and one of the link's lifetime wrong
 * codes in one conditional update, then compares; a right code gives the wrong code back.
 * So guesses sent in parallel can never test more than the limits allow, on any instance.
 */
export async function checkCode(codes: PortalSessionStore, hashKey: Buffer, row: CodeHolder, typed: string, now: number): Promise<CodeCheck> {
  const state = codeState(row, now);
  if (state !== 'pending') return { kind: state };
  const code = typed.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(code)) return { kind: 'malformed' };
  const reserved = await codes.takeAttempt(row.id, row.otpHash, { maxAttempts: CODE_MAX_ATTEMPTS, maxWrongCodes: LINK_MAX_WRONG_CODES });
  if (!reserved) return refusedBefore(codes, row.id, now);
  const expected = Buffer.from(row.otpHash ?? '', 'hex');
  const given = Buffer.from(codeHash(hashKey, row.id, code), 'hex');
  if (expected.length === given.length && timingSafeEqual(expected, given)) {
    return (await codes.useCode(row.id, row.otpHash)) ? { kind: 'ok' } : { kind: 'none' };
  }
  return { kind: 'wrong', attemptsLeft: Math.max(0, CODE_MAX_ATTEMPTS - reserved.attempts), wrongCodes: reserved.wrongCodes };
}

/** Why no attempt was left to take: the link is locked (or about to be), or the code was used up or replaced meanwhile. */
async function refusedBefore(codes: PortalSessionStore, id: string, now: number): Promise<CodeCheck> {
  const fresh = await codes.codeLink(id);
  if (fresh.lockedAt !== null || fresh.otpFailures >= LINK_MAX_WRONG_CODES) return { kind: 'locked', wrongCodes: fresh.otpFailures };
  const state = codeState(fresh, now);
  return state === 'pending' ? { kind: 'exhausted' } : { kind: state };
}
