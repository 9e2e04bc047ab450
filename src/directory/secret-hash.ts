import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits of entropy, base64url: safe in SMTP AUTH and in shell arguments. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Generated secrets carry 256 bits of entropy, so a slow hash buys nothing against
 * guessing; a keyed HMAC keeps a stolen database useless without the key file and costs
 * microseconds on every AUTH.
 */
export function hashSecret(key: Buffer, secret: string): string {
  return createHmac('sha256', key).update(secret, 'utf8').digest('base64url');
}

export function secretMatches(key: Buffer, secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(key, secret), 'base64url');
  const expected = Buffer.from(storedHash, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
