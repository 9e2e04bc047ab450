import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A verification mail's token is its check's id with an HMAC of that id under a key derived
 * from the credential hash key (the same on every instance sharing a store). It cannot be
 * forged, and it marks the mail as the gateway's own even once its check is gone (the domain
 * removed meanwhile), so a copy that comes back is consumed instead of relayed round again.
 */
export function verificationKey(hashKey: Buffer): Buffer {
  return createHmac('sha256', hashKey).update('relaygate verification mail marker v1').digest();
}

export function verificationToken(key: Buffer, checkId: string): string {
  return `${checkId}.${mac(key, checkId)}`;
}

/** True for a token this gateway made, whether or not its check still exists. */
export function isOwnVerificationToken(key: Buffer, token: string): boolean {
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return false;
  const expected = Buffer.from(mac(key, token.slice(0, dot)), 'base64url');
  const actual = Buffer.from(token.slice(dot + 1), 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const mac = (key: Buffer, checkId: string) => createHmac('sha256', key).update(checkId, 'utf8').digest('base64url');
