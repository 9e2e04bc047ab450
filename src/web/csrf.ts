import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DeniedAttempt } from '../audit/denied-attempts.js';

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

/**
 * Audits every form a surface refused (a 403 answer to a POST under `prefix`), from one
 * onResponse hook, so the surface's pages need not each remember to. The route pattern is
 * kept, never the URL: a portal URL carries the recipient's link token.
 */
export function auditRefusedForms(
  app: FastifyInstance,
  options: { prefix: string; surface: string; publicUrl: () => string; record: (attempt: DeniedAttempt) => void },
): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST' || reply.statusCode !== 403 || !request.url.startsWith(options.prefix)) return;
    options.record({
      action: 'form.refused',
      actor: 'anonymous',
      ip: request.ip,
      reason: originAllowed(request.headers.origin, request.headers.host, options.publicUrl())
        ? 'missing or invalid form token'
        : 'form posted from another site',
      detail: { surface: options.surface, route: request.routeOptions.url ?? 'unknown route' },
    });
  });
}
