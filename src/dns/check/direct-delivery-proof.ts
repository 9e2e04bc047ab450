import type { Clock } from '../../lib/clock.js';
import { cachingResolver } from '../caching-resolver.js';
import type { MtaStsFetcher } from '../mta-sts-fetch.js';
import type { DnsResolver } from '../resolver.js';
import type { DirectDeliveryVerdict } from './finding.js';
import { gatherMtaSts, judgeMtaSts } from './mta-sts.js';
import { gatherMx } from './mx.js';
import { gatherTlsa, judgeTlsa } from './tlsa.js';
import { directDeliveryVerdict } from './verdict.js';

export interface DirectDeliveryProofDeps {
  /** Uncached: the proof must see a zone that went bogus a moment ago. */
  resolver: DnsResolver;
  fetchMtaStsPolicy: MtaStsFetcher;
  clock: Clock;
}

/**
 * The direct-delivery verdict alone, as the DNS checker reaches it (the same facts, the same
 * judgement), without the SPF, DKIM, DMARC and TLS-RPT lookups the verdict does not use:
 * delivery asks it before every attempt to a domain flagged for direct delivery.
 */
export async function checkDirectDelivery(deps: DirectDeliveryProofDeps, domain: string): Promise<DirectDeliveryVerdict> {
  const resolver = cachingResolver(deps.resolver, { clock: deps.clock });
  const mx = await gatherMx(resolver, domain);
  const [tlsa, mtaSts] = await Promise.all([gatherTlsa(resolver, mx.hosts), gatherMtaSts(resolver, deps.fetchMtaStsPolicy, domain)]);
  const mxAuthenticated = mx.lookup.kind === 'ok' && mx.lookup.authenticated;
  const hosts = tlsa.map((facts) => ({ name: facts.host.name, ...judgeTlsa(facts, mxAuthenticated) }));
  const sts = judgeMtaSts(
    domain,
    mtaSts,
    mx.hosts.map((host) => host.name),
    deps.clock.now(),
  );
  return directDeliveryVerdict(domain, { mx: mx.lookup, hosts, mtaSts: sts.policy });
}
