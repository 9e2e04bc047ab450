import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Synchroniser tokens without server state: an HMAC of what the form belongs to (a session,
 * or the portal token before sign-in) under the store's hash key. Another site can neither
 * read the page that carries it nor compute it. Scopes are named by their user (portal:…,
 * console:…), so a token of one never passes in the other.
 */
export function csrfToken(key: Buffer, scope: string): string {
  return createHmac('sha256', key).update(`csrf\0${scope}`).digest('base64url');
}

export function csrfValid(key: Buffer, scope: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(csrfToken(key, scope));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * A browser names the page a POST comes from; when it does, it must be this gateway, reached
 * either at its public URL or at the host the request was sent to. `null` (a sandboxed frame,
 * a redirect across origins) is refused.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, publicUrl: string): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && url.origin === new URL(publicUrl).origin) return true;
  return host !== undefined && url.host === host.toLowerCase() && (url.protocol === 'http:' || url.protocol === 'https:');
}
