import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../directory/context.js';
import { type BearerServices, bearerToken } from '../http/bearer-token.js';
import { sendProblem } from '../http/problem.js';

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
export function requireBearer(app: FastifyInstance, services: BearerServices): void {
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
