import type { FastifyRequest } from 'fastify';

/** A sliding window of counts per key, kept in the store so that every instance counts together (src/store/shared-counters.ts). */
export interface RequestWindow {
  /** Counts one for `key` only if the window holds fewer than `limit`, atomically; true when counted. */
  addWithin(key: string, limit: number): Promise<boolean>;
  /** How long until `key` counts fewer than `limit` again, if nothing more is added. */
  msUntilBelow(key: string, limit: number): Promise<number>;
}

/** The window of one scope: `buckets` buckets of `bucketMs` each. */
export type RequestCounters = (window: { scope: string; bucketMs: number; buckets: number }) => RequestWindow;

interface Limit {
  /** rate_counters scope: limits with different numbers need different scopes. */
  scope: string;
  limit: number;
  bucketMs: number;
  buckets: number;
}

const MINUTE_MS = 60_000;

/**
 * Requests per source address, counted in the store so that every instance serving the
 * portal counts together. The numbers leave room for a whole office behind one NAT address:
 * reading a message costs a recipient about five requests (page, frame, files) and a code
 * one or two of each kind; only a script comes near them.
 */
export const PORTAL_LIMITS = {
  /** Every portal route: 300 a minute, in 10-second steps. */
  any: { scope: 'portal-requests-per-ip', limit: 300, bucketMs: 10_000, buckets: 6 },
  /** Code checks: 60 in 10 minutes (each link has its own lifetime cap of wrong codes besides). */
  verify: { scope: 'portal-verify-per-ip', limit: 60, bucketMs: MINUTE_MS, buckets: 10 },
  /** Code requests, each of which sends a mail: 30 in 10 minutes. */
  code: { scope: 'portal-code-per-ip', limit: 30, bucketMs: MINUTE_MS, buckets: 10 },
} satisfies Record<string, Limit>;

/** Seconds the client should wait (for Retry-After), or undefined when the request may go on. */
export type PortalAdmission = (request: FastifyRequest) => Promise<number | undefined>;

export function portalAdmission(counters: RequestCounters): PortalAdmission {
  const windows = Object.fromEntries(Object.entries(PORTAL_LIMITS).map(([name, l]) => [name, { limit: l.limit, window: counters(l) }])) as Record<
    keyof typeof PORTAL_LIMITS,
    { limit: number; window: RequestWindow }
  >;

  const admit = async (name: keyof typeof PORTAL_LIMITS, ip: string): Promise<number | undefined> => {
    const { limit, window } = windows[name];
    if (await window.addWithin(ip, limit)) return undefined;
    return Math.max(1, Math.ceil((await window.msUntilBelow(ip, limit)) / 1000));
  };

  return async (request) => {
    const ip = request.ip;
    const any = await admit('any', ip);
    if (any !== undefined || request.method !== 'POST') return any;
    const route = request.routeOptions.url ?? '';
    if (route.endsWith('/:token/verify')) return admit('verify', ip);
    if (route.endsWith('/:token/code')) return admit('code', ip);
    return undefined;
  };
}
