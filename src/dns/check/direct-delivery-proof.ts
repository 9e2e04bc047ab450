import type { Clock } from '../../lib/clock.js';
import { cachingResolver } from '../caching-resolver.js';
import type { MtaStsFetcher } from '../mta-sts-fetch.js';
import type { DnsResolver } from '../resolver.js';
import type { DirectDeliveryVerdict } from './finding.js';
import { gatherMtaSts, judgeMtaSts, policyCoversMx } from './mta-sts.js';
import { gatherMx } from './mx.js';
import { judgeProbe, type MxProbe } from './mx-probe.js';
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
  return judgeTransport(domain, { mx, tlsa, mtaSts }, deps.clock.now()).verdict;
}

export interface TransportFacts {
  mx: Awaited<ReturnType<typeof gatherMx>>;
  tlsa: Awaited<ReturnType<typeof gatherTlsa>>;
  mtaSts: Awaited<ReturnType<typeof gatherMtaSts>>;
}

/**
 * Each MX host's DANE state, the MTA-STS policy and the verdict they give: shared by the full
 * check, which also probes the hosts (`probes`, and a finding for each), and the proof.
 */
export function judgeTransport(domain: string, facts: TransportFacts, now: number, probes?: Map<string, MxProbe>) {
  const mxAuthenticated = facts.mx.lookup.kind === 'ok' && facts.mx.lookup.authenticated;
  const hosts = facts.tlsa.map((tlsa) => ({ name: tlsa.host.name, ...judgeTlsa(tlsa, mxAuthenticated) }));
  const sts = judgeMtaSts(
    domain,
    facts.mtaSts,
    facts.mx.hosts.map((host) => host.name),
    now,
  );
  const verdict = directDeliveryVerdict(domain, { mx: facts.mx.lookup, hosts, mtaSts: sts.policy, ...(probes ? { probes } : {}) });
  const probeFindings = [...(probes ?? [])].map(([name, probe]) => {
    const dane = hosts.find((host) => host.name === name)?.dane === 'usable';
    const pkix = sts.policy?.mode === 'enforce' && policyCoversMx(name, sts.policy);
    return judgeProbe(name, probe, dane ? 'dane' : pkix ? 'pkix' : 'none');
  });
  return { hosts, sts, verdict, probeFindings };
}
