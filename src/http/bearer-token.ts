import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeniedAttempts } from '../audit/denied-attempts.js';
import type { ApiToken, ApiTokens } from '../directory/api-tokens.js';
import type { TokenScope } from '../directory/token-scopes.js';

/** What a bearer check needs: the tokens to open, and the audit of refusals. */
export interface BearerServices {
  tokens: Pick<ApiTokens, 'authenticate'>;
  denials: Pick<DeniedAttempts, 'record'>;
}

/**
 * The token of a request's `Authorization: Bearer` header, valid in `scope`; otherwise the
 * refusal is recorded as `action` (with `invalid` as the reason for a token that does not open it) and the reply gets its WWW-Authenticate challenge, and the
 * caller answers in its own error format (problem+json, or SCIM's).
 */
export async function bearerToken(
  services: BearerServices,
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
