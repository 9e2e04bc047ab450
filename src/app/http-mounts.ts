import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { lazySurfaces } from '../http/lazy-surfaces.js';
import type { Mount } from '../http/server.js';
import type { Clock } from '../lib/clock.js';
import type { GatewayParts } from './compose.js';
import type { LateParts } from './late-parts.js';
import type { OpenStore } from './open-store.js';
import type { WakeBus } from './wake-bus.js';

export interface MountDeps {
  parts: GatewayParts;
  store: Pick<OpenStore, 'db' | 'hashKey'>;
  clock: Clock;
  log: Logger;
  late: LateParts;
  wake: WakeBus;
}

/** Every path the surfaces of src/app/surface-mounts.ts put routes on; src/http/lazy-surfaces.ts refuses any other. */
export const SURFACE_PREFIXES = ['/api', '/api/*', '/scim/*', '/inbound/*', '/m', '/m/*', '/console', '/console/*'] as const;

/**
 * What the http role puts on the HTTP server: the admin API and its OpenAPI document, SCIM, the
 * inbound downloads, the portal and the console (src/app/surface-mounts.ts), imported and built
 * at the first request to one of them.
 */
export function httpMounts(config: Pick<Config, 'hostname' | 'queue' | 'smtp' | 'http'>, d: MountDeps): Mount[] {
  return [
    lazySurfaces({
      prefixes: SURFACE_PREFIXES,
      trustedProxies: config.http.trustedProxies,
      load: async () => (await import('./surface-mounts.js')).surfaceMounts(config, d),
    }),
  ];
}
