import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken } from '../directory/api-tokens.js';
import type { Actor } from '../directory/context.js';
import type { TokenScope } from '../directory/token-scopes.js';
import type { AdminServices } from './api-context.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for the audit log; set by the bearer check. */
    actor: Actor;
  }
}

/**
 * Every /api/v1 request carries `Authorization: Bearer <token>` (RFC 6750). A refusal is
 * audited (coalesced, see denied-attempts.ts) with the address and why, never the token.
 */
export function requireBearer(app: FastifyInstance, services: Pick<AdminServices, 'tokens' | 'denials'>): void {
  app.decorateRequest('actor', { getter: () => ({ name: 'anonymous', ip: null }) as Actor });
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const token = await bearerToken(services, request, reply, {
      scope: 'admin',
      action: 'api.unauthorized',
      realm: 'relaygate',
      invalid: 'bearer token not valid or revoked',
    });
    if ('refused' in token) {
      return sendProblem(reply, {
        status: 401,
        title: 'Unauthorized',
        detail: token.presented
          ? 'the bearer token is not valid or has been revoked'
          : 'send an API token as "Authorization: Bearer <token>"; create one with: relaygate token create --description NAME',
      });
    }
    Object.defineProperty(request, 'actor', { value: { name: `token:${token.id} (${token.description})`, ip: request.ip } satisfies Actor });
  });
}

/**
 * The token of a request's `Authorization: Bearer` header, valid in `scope`; otherwise the
 * refusal is recorded as `action` (with `invalid` as the reason for a token that does not open it) and the reply gets its WWW-Authenticate challenge, and the
 * caller answers in its own error format (problem+json, or SCIM's).
 */
export async function bearerToken(
  services: Pick<AdminServices, 'tokens' | 'denials'>,
  request: FastifyRequest,
  reply: FastifyReply,
  o: { scope: TokenScope; action: string; realm: string; invalid: string },
): Promise<ApiToken | { refused: true; presented: boolean }> {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  const token = match?.[1] ? await services.tokens.authenticate(match[1], request.ip, o.scope) : undefined;
  if (token) return token;
  services.denials.record({
    action: o.action,
    actor: 'anonymous',
    ip: request.ip,
    reason: match ? o.invalid : 'no bearer token',
    detail: { method: request.method, route: request.routeOptions.url ?? 'unknown route' },
  });
  reply.header('www-authenticate', `Bearer realm="${o.realm}"`);
  return { refused: true, presented: match !== null };
}
