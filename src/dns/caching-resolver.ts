import type { Answer, RecordType } from 'dns-packet';
import { type Clock, systemClock } from '../lib/clock.js';
import type { DnsResolver, DnsResponse } from './resolver.js';

export interface CachingResolverOptions {
  clock?: Clock;
  /** Most questions kept; the least recently used go first. */
  maxEntries?: number;
  /** Upper bound on any TTL honoured, as resolvers cap it (Unbound's cache-max-ttl is one day). */
  maxTtlSeconds?: number;
  /** Upper bound on a negative answer's TTL: RFC 2308 §5 suggests one to three hours. */
  maxNegativeTtlSeconds?: number;
}

/** A DnsResolver that remembers answers; `clear` forgets them all (after a zone changed, in tests). */
export interface CachingResolver extends DnsResolver {
  clear(): void;
  readonly size: number;
}

const DEFAULTS = { maxEntries: 10_000, maxTtlSeconds: 86_400, maxNegativeTtlSeconds: 3 * 3600 };

interface Entry {
  response: Extract<DnsResponse, { kind: 'answer' }>;
  storedAt: number;
  expiresAt: number;
}

/**
 * Wraps a resolver with a cache that keeps each answer for its TTL: a positive answer for the
 * smallest TTL of its records, a negative one (NXDOMAIN, NODATA) for the smaller of the SOA's
 * TTL and MINIMUM field in the authority section (RFC 2308 §5), never without that SOA. The
 * AD bit is kept with the answer. A cached answer's TTLs count down, as a resolver's do
 * (RFC 1035 §7.4), so whoever caches it further does not stretch it.
 *
 * SERVFAIL, other RCODEs, timeouts and failures are not cached: the validating resolver
 * behind this one already holds them back (RFC 9520 §3.2), and a retry here should reach it.
 * Questions asked while the same one is in flight share its answer.
 */
export function cachingResolver(inner: DnsResolver, options: CachingResolverOptions = {}): CachingResolver {
  const clock = options.clock ?? systemClock;
  const limits = { ...DEFAULTS, ...definedOnly(options) };
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<DnsResponse>>();

  const remember = (key: string, type: RecordType, response: DnsResponse) => {
    if (response.kind !== 'answer') return;
    const ttlSeconds = cacheTtlSeconds(response, type, limits);
    if (ttlSeconds <= 0) return;
    const now = clock.now();
    entries.delete(key);
    entries.set(key, { response, storedAt: now, expiresAt: now + ttlSeconds * 1000 });
    for (const oldest of entries.keys()) {
      if (entries.size <= limits.maxEntries) break;
      entries.delete(oldest);
    }
  };

  return {
    get size() {
      return entries.size;
    },
    clear: () => entries.clear(),
    async query(name, type) {
      const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
      const now = clock.now();
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now) {
        // Most recently used last: Map keeps insertion order, so eviction takes the first key.
        entries.delete(key);
        entries.set(key, entry);
        return aged(entry.response, Math.floor((now - entry.storedAt) / 1000));
      }
      if (entry) entries.delete(key);
      const pending = inFlight.get(key);
      if (pending) return pending;
      const asked = inner.query(name, type).then((response) => {
        remember(key, type, response);
        return response;
      });
      inFlight.set(key, asked);
      try {
        return await asked;
      } finally {
        inFlight.delete(key);
      }
    },
  };
}

/** How long the answer to a `type` question may be kept: 0 for what must not be cached. */
export function cacheTtlSeconds(
  response: Extract<DnsResponse, { kind: 'answer' }>,
  type: RecordType,
  limits: { maxTtlSeconds: number; maxNegativeTtlSeconds: number },
): number {
  const records = response.answers;
  // NODATA can still carry the CNAME chain that led to the empty name (RFC 2308 §2.2).
  const negative = response.rcode === 'NXDOMAIN' || (response.rcode === 'NOERROR' && !records.some((answer) => answer.type === type));
  if (negative) {
    const soa = (response.authorities ?? []).find((answer) => answer.type === 'SOA');
    if (soa?.type !== 'SOA') return 0;
    // RFC 2308 §5: the lesser of the SOA record's own TTL and its MINIMUM field, and of any CNAME on the way.
    const ttl = Math.min(ttlOf(soa), soa.data.minimum ?? 0, ...records.map(ttlOf));
    return Math.min(ttl, limits.maxNegativeTtlSeconds);
  }
  if (response.rcode !== 'NOERROR') return 0;
  return Math.min(...records.map(ttlOf), limits.maxTtlSeconds);
}

function ttlOf(answer: Answer): number {
  return 'ttl' in answer ? (answer.ttl ?? 0) : 0;
}

function aged(response: Extract<DnsResponse, { kind: 'answer' }>, elapsedSeconds: number): DnsResponse {
  const age = (answers: Answer[]) => answers.map((answer) => ('ttl' in answer ? { ...answer, ttl: Math.max(ttlOf(answer) - elapsedSeconds, 0) } : answer));
  return { ...response, answers: age(response.answers), ...(response.authorities ? { authorities: age(response.authorities) } : {}) };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
