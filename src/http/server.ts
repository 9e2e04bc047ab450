import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AdminServices } from '../api/api-context.js';
import { registerApi } from '../api/index.js';

export const VERSION = '0.1.0';

export interface Probe {
  /** Throws (or rejects) with the reason when the gateway cannot take mail. */
  ready(): Promise<void>;
}

/** The HTTP side: liveness, readiness and the admin API (the console mounts here later). */
export async function startHttp(
  host: string,
  port: number,
  probe: Probe,
  services: AdminServices,
  extras: { metrics?: Registry; register?: (app: FastifyInstance) => void } = {},
): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  await registerApi(app, services, VERSION);
  extras.register?.(app);
  const { metrics } = extras;
  if (metrics) app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await probe.ready();
      return { status: 'ready' };
    } catch (err) {
      return reply
        .code(503)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Not ready', status: 503, detail: (err as Error).message });
    }
  });
  await app.listen({ host, port });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : port };
}
