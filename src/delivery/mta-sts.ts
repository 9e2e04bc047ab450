import type { DNSResolver } from 'mailauth';
import { resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import type { Logger } from 'pino';
import { nodeStyleResolver } from '../dns/mailauth-resolver.js';
import type { MtaStsFetcher, MtaStsPolicy } from '../dns/mta-sts-fetch.js';
import type { DnsResolver } from '../dns/resolver.js';
import type { Clock } from '../lib/clock.js';

/** A policy in force for a recipient domain: `none` policies never come out of here. */
export interface ActiveMtaStsPolicy {
  id: string;
  mode: 'enforce' | 'testing';
  mx: string[];
}

/** The MTA-STS policy of a recipient domain, when it has one in force (RFC 8461). */
export interface MtaStsSource {
  policyFor(domain: string): Promise<ActiveMtaStsPolicy | undefined>;
}

export interface MtaStsOptions {
  resolver: DnsResolver;
  fetch: MtaStsFetcher;
  clock: Clock;
  log: Logger;
}

interface Cached {
  id: string;
  policy: MtaStsPolicy;
  expiresAt: number;
}

/**
 * RFC 8461 §5.1: the `_mta-sts` TXT id is looked up at each delivery; a policy is fetched only
 * when the id is new, and kept for its max_age. Without a TXT record, when the lookup fails,
 * or when the fetch fails, a cached policy that has not expired still applies: an attacker who
 * blocks the lookup or the HTTPS fetch must not switch the policy off. The cache is in memory,
 * so a restart forgets it (RFC 8461 §5 would keep it on disk).
 */
export function mtaStsPolicies(o: MtaStsOptions): MtaStsSource {
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<Cached | undefined>>();
  const txtResolver = nodeStyleResolver(o.resolver) as DNSResolver;

  async function current(domain: string): Promise<Cached | undefined> {
    const now = o.clock.now();
    const cached = cache.get(domain);
    const live = cached && cached.expiresAt > now ? cached : undefined;
    if (cached && !live) cache.delete(domain);
    let id: string | false;
    try {
      id = await resolvePolicy(domain, { resolver: txtResolver });
    } catch (err) {
      o.log.warn({ event: 'mta-sts.txt-failed', domain, err: (err as Error).message || (err as { code?: string }).code }, 'MTA-STS TXT lookup failed');
      return live;
    }
    if (id === false || id === live?.id) return live;
    const fetched = await o.fetch(domain);
    if (fetched.kind !== 'ok') {
      o.log.warn({ event: 'mta-sts.fetch-failed', domain, id, detail: fetched.detail }, 'MTA-STS policy could not be fetched');
      return live;
    }
    const entry = { id, policy: fetched.policy, expiresAt: now + fetched.policy.maxAgeSeconds * 1000 };
    cache.set(domain, entry);
    o.log.info({ event: 'mta-sts.policy', domain, id, mode: entry.policy.mode, mx: entry.policy.mx }, 'MTA-STS policy fetched');
    return entry;
  }

  return {
    async policyFor(domain) {
      const key = domain.toLowerCase();
      let pending = inFlight.get(key);
      if (!pending) {
        pending = current(key).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const entry = await pending;
      if (!entry || entry.policy.mode === 'none') return undefined;
      return { id: entry.id, mode: entry.policy.mode, mx: entry.policy.mx };
    },
  };
}

/**
 * Whether the policy lists an MX host (RFC 8461 §4.1). mailauth's validateMx lets `*.example.com`
 * match any depth; RFC 8461 §4.1 lets the wildcard stand for the leftmost label only, so each
 * pattern is tried on its own and a wildcard match must leave exactly one label.
 */
export function policyListsHost(policy: ActiveMtaStsPolicy, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return policy.mx.some((pattern) => {
    const result = validateMx(name, { mode: policy.mode, mx: [pattern] });
    if (!result.valid) return false;
    if (!pattern.startsWith('*.')) return true;
    const label = name.slice(0, name.length - (pattern.length - 1));
    return label.length > 0 && !label.includes('.');
  });
}
