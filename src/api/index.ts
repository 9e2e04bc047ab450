import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AdminServices, ApiContext } from './api-context.js';
import { requireBearer } from './bearer-auth.js';
import { problemHandler, sendProblem } from './problem.js';
import { addressRoutes } from './v1/addresses.js';
import { auditRoutes } from './v1/audit.js';
import { connectionRoutes } from './v1/connections.js';
import { credentialRoutes } from './v1/credentials.js';
import { directDeliveryRoutes } from './v1/direct-delivery.js';
import { dkimRoutes } from './v1/dkim.js';
import { dnsCheckRoutes } from './v1/dns-check.js';
import { domainConnectionRoutes } from './v1/domain-connection.js';
import { domainRoutes } from './v1/domains.js';
import { inboundTargetRoutes } from './v1/inbound-targets.js';
import { messageRoutes } from './v1/messages.js';
import { routeRoutes } from './v1/routes.js';
import { sandboxRoutes } from './v1/sandbox.js';
import { secureMessageRoutes } from './v1/secure-messages.js';
import { tlsPolicyRoutes } from './v1/tls-policies.js';
import { tokenRoutes } from './v1/tokens.js';

/** Each resource registers its own routes here: one file per resource under v1/. */
const RESOURCES: ((ctx: ApiContext) => void)[] = [
  messageRoutes,
  domainRoutes,
  domainConnectionRoutes,
  directDeliveryRoutes,
  dkimRoutes,
  dnsCheckRoutes,
  addressRoutes,
  credentialRoutes,
  routeRoutes,
  connectionRoutes,
  tlsPolicyRoutes,
  inboundTargetRoutes,
  secureMessageRoutes,
  sandboxRoutes,
  tokenRoutes,
  auditRoutes,
];

/**
 * The admin REST API under /api/v1, described by the OpenAPI 3.1 document at
 * /api/openapi.json (generated from the same schemas that validate requests) and
 * browsable at /api/docs (served by the gateway itself, no CDN).
 */
export async function registerApi(app: FastifyInstance, services: AdminServices, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Relaygate admin API',
        version,
        description: 'Administration of a Relaygate mail gateway. Errors are RFC 9457 problem details naming the fields at fault.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token from `relaygate token create`' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(
    async (v1) => {
      const api = v1.withTypeProvider<TypeBoxTypeProvider>();
      api.setErrorHandler(problemHandler);
      api.setNotFoundHandler((request, reply) =>
        sendProblem(reply, { status: 404, title: 'Not found', detail: `no API route ${request.method} ${request.url}` }),
      );
      requireBearer(api, services.tokens);
      for (const register of RESOURCES) register({ app: api, services });
    },
    { prefix: '/api/v1' },
  );
}
