import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Capability URLs for the gateway's download endpoints (the raw message, large attachments):
 * whoever holds the link may fetch it until it expires, so the webhook payload can point at
 * content without the application holding another credential.
 */

export type SignedPathCheck = 'ok' | 'expired' | 'bad-signature';

const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,12}$/;

/**
 * `path` is the URL path as it will be requested (already percent-encoded, no query). The link
 * stops working at `expiresAtMs`, rounded down to the second it carries.
 */
export function signPath(key: Buffer, path: string, expiresAtMs: number): string {
  if (path.includes('?') || path.includes('#')) throw new RangeError(`signPath takes a path without query or fragment, got ${path}`);
  const expiresSec = Math.floor(expiresAtMs / 1000);
  return `${path}?expires=${expiresSec}&sig=${mac(key, path, String(expiresSec)).toString('base64url')}`;
}

/**
 * The signature is checked before the expiry, so "expired" is only ever said of a link we
 * issued; a forged or altered one is a bad signature whatever its date.
 */
export function verifySignedPath(key: Buffer, path: string, query: { expires?: string; sig?: string }, nowMs: number): SignedPathCheck {
  const { expires, sig } = query;
  if (expires === undefined || sig === undefined || !EXPIRES.test(expires) || !SIGNATURE.test(sig)) return 'bad-signature';
  if (!timingSafeEqual(Buffer.from(sig, 'base64url'), mac(key, path, expires))) return 'bad-signature';
  return nowMs >= Number(expires) * 1000 ? 'expired' : 'ok';
}

/** The expiry goes first: it is digits only, so the first newline ends it and no path can be confused with another. */
function mac(key: Buffer, path: string, expiresSec: string): Buffer {
  return createHmac('sha256', key).update(`${expiresSec}\n${path}`, 'utf8').digest();
}
