import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiTokens } from '../directory/api-tokens.js';
import type { Actor } from '../directory/context.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for the audit log; set by the bearer check. */
    actor: Actor;
  }
}

/** Every /api/v1 request carries `Authorization: Bearer <token>` (RFC 6750). */
export function requireBearer(app: FastifyInstance, tokens: ApiTokens): void {
  app.decorateRequest('actor', { getter: () => ({ name: 'anonymous', ip: null }) as Actor });
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const token = match?.[1] ? await tokens.authenticate(match[1], request.ip) : undefined;
    if (!token) {
      reply.header('www-authenticate', 'Bearer realm="relaygate"');
      return sendProblem(reply, {
        status: 401,
        title: 'Unauthorized',
        detail: match
          ? 'the bearer token is not valid or has been revoked'
          : 'send an API token as "Authorization: Bearer <token>"; create one with: relaygate token create --description NAME',
      });
    }
    Object.defineProperty(request, 'actor', { value: { name: `token:${token.id} (${token.description})`, ip: request.ip } satisfies Actor });
  });
}
