import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { sendProblem } from './problem.js';

export const VERSION = '0.1.0';

/** One readiness check: `detail` is 'ok' or what is wrong, in words for the operator. */
export interface ReadinessCheck {
  ok: boolean;
  detail: string;
}

export interface Probe {
  /** Every check by name; the gateway is ready when all are ok. Never rejects: a failure is a check's detail. */
  checks(): Promise<Record<string, ReadinessCheck>>;
}

/** Puts its routes on the server: the admin API, SCIM, the portal, the console (src/app chooses them by role). */
export type Mount = (app: FastifyInstance) => void | Promise<void>;

/** The HTTP side: liveness, readiness and metrics, and whatever is mounted, in the order given. */
export async function startHttp(
  host: string,
  port: number,
  probe: Probe,
  /** Without mounts, health and metrics only (an instance whose role is not http). */
  extras: { metrics?: Registry; mounts?: Mount[]; trustedProxies?: string[] } = {},
): Promise<{ app: FastifyInstance; port: number }> {
  // Only the listed proxies' X-Forwarded-For sets request.ip: from anyone else it is ignored.
  const trusted = extras.trustedProxies ?? [];
  const app = Fastify({ logger: false, trustProxy: trusted.length > 0 ? trusted : false });
  for (const mount of extras.mounts ?? []) await mount(app);
  const { metrics } = extras;
  if (metrics) app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Both answers list every check (`checks: { store: 'ok', smtp: 'ok', disk: 'only 40 MB free, …' }`);
  // the 503 is a problem+json whose detail names the failing ones.
  app.get('/readyz', async (_request, reply) => {
    const results = await probe.checks();
    const checks = Object.fromEntries(Object.entries(results).map(([name, check]) => [name, check.detail]));
    const failing = Object.entries(results).filter(([, check]) => !check.ok);
    if (failing.length === 0) return { status: 'ready', checks };
    const problem = { status: 503, title: 'Not ready', detail: failing.map(([name, check]) => `${name}: ${check.detail}`).join('; '), checks };
    return sendProblem(reply, problem);
  });
  await app.listen({ host, port });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : port };
}
