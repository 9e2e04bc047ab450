import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Mount } from './server.js';

export interface LazySurfaces {
  /**
   * The paths the surfaces own, as Fastify route URLs (`/console`, `/console/*`): a request to
   * one is handed whole, body unread, to the surfaces' own Fastify instance.
   */
  prefixes: readonly string[];
  /** As the outer server's: request.ip must read the same in the surfaces. */
  trustedProxies: string[];
  /** Imports and returns the surfaces' mounts; called once, at the first request to a prefix. */
  load(): Promise<Mount[]>;
}

/**
 * The admin API, SCIM, the portal and the console are built on first use: most instances
 * serve none of them between restarts, and their modules, schemas and compiled serializers
 * held 25 MB of the gateway's idle RSS (of 170 MB; measured with `node dist/main.js start`,
 * VmRSS after 8 s). Fastify takes no routes once listening, so the surfaces live on a second
 * instance that never listens: the outer one answers their prefixes from a route-level
 * onRequest hook (before any body is read) by handing the raw request to it. Every hook,
 * parser, error and 404 handler of a surface is on that instance, as it was on the outer one.
 */
export function lazySurfaces(surfaces: LazySurfaces): Mount {
  return (app) => {
    let built: Promise<FastifyInstance> | undefined;
    const instance = () => {
      built ??= buildSurfaces(surfaces).catch((err: unknown) => {
        built = undefined;
        throw err;
      });
      return built;
    };
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      const inner = await instance();
      reply.hijack();
      inner.routing(request.raw, reply.raw);
    };
    for (const url of surfaces.prefixes) {
      app.all(url, { onRequest: forward, schema: { hide: true } }, async () => {
        throw new Error('unreachable: the onRequest hook hands every request on');
      });
    }
    app.addHook('onClose', async () => {
      if (built) await (await built.catch(() => undefined))?.close();
    });
  };
}

async function buildSurfaces(surfaces: LazySurfaces): Promise<FastifyInstance> {
  const trusted = surfaces.trustedProxies;
  const inner = Fastify({ logger: false, trustProxy: trusted.length > 0 ? trusted : false });
  // A route outside the prefixes would never be reached: fail the first request instead.
  inner.addHook('onRoute', (route) => {
    if (!surfaces.prefixes.some((prefix) => covers(prefix, route.url))) throw new Error(`${route.url} lies outside the surfaces' prefixes`);
  });
  for (const mount of await surfaces.load()) await mount(inner);
  await inner.ready();
  return inner;
}

/** Whether a request to `url` reaches the route `prefix` (`/m/*` covers `/m/:token`; `/m` covers only `/m`). */
export function covers(prefix: string, url: string): boolean {
  return prefix.endsWith('*') ? url.startsWith(prefix.slice(0, -1)) : url === prefix;
}
