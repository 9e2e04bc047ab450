import { createHash } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { problemHandler, sendProblem } from '../http/problem.js';
import type { AdminServices, ApiContext } from './api-context.js';
import { requireBearer } from './bearer-auth.js';
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

/** The one inline `<style>` swagger-ui writes: the colours of the SVG logo in its top bar (swagger-ui-standalone-preset.js). */
const SWAGGER_LOGO_STYLE = '.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}';

/**
 * The docs page is swagger-ui served by the gateway itself: its scripts, styles and images come
 * from here (no inline script, no CDN), the spec is fetched from here, and nothing may frame it.
 * test/api-headers.test.ts renders it in Chromium and fails on any violation (a new swagger-ui
 * whose logo style differs shows up there).
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' 'sha256-${createHash('sha256').update(SWAGGER_LOGO_STYLE).digest('base64')}'`,
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** /api and below: the API, its OpenAPI document and docs page, and the 404s of unknown API paths. */
const isApiPath = (url: string) => /^\/api(?:[/?]|$)/.test(url);

/**
 * The admin REST API under /api/v1, described by the OpenAPI 3.1 document at
 * /api/openapi.json (generated from the same schemas that validate requests) and
 * browsable at /api/docs (served by the gateway itself, no CDN).
 */
export async function registerApi(app: FastifyInstance, services: AdminServices, version: string): Promise<void> {
  // On the root, not in the /api/v1 plugin: every answer under /api carries them, including the
  // 401 of the bearer check, the 404 of a path no plugin owns and swagger-ui's static files.
  // Answers carry tokens, secrets shown once and audit records: never stored, never sniffed.
  app.addHook('onSend', async (request, reply, payload) => {
    if (isApiPath(request.url)) reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-store');
    return payload;
  });
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
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: DOCS_CSP });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(
    async (v1) => {
      const api = v1.withTypeProvider<TypeBoxTypeProvider>();
      api.setErrorHandler(problemHandler);
      api.setNotFoundHandler((request, reply) =>
        sendProblem(reply, { status: 404, title: 'Not found', detail: `no API route ${request.method} ${request.url}` }),
      );
      requireBearer(api, services);
      for (const register of RESOURCES) register({ app: api, services });
    },
    { prefix: '/api/v1' },
  );
}
