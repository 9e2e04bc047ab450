import Fastify, { type FastifyInstance } from 'fastify';
import type { AdminServices } from '../api/api-context.js';
import { registerApi } from '../api/index.js';

const VERSION = '0.1.0';

export interface Probe {
  /** Throws (or rejects) with the reason when the gateway cannot take mail. */
  ready(): Promise<void>;
}

/** The HTTP side: liveness, readiness and the admin API (the console mounts here later). */
export async function startHttp(host: string, port: number, probe: Probe, services: AdminServices): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  await registerApi(app, services, VERSION);
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
