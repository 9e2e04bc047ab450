import type { Clock } from '../../lib/clock.js';
import { cachingResolver } from '../caching-resolver.js';
import type { MtaStsFetcher } from '../mta-sts-fetch.js';
import { lookUpTxt } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { judgeTransport } from './direct-delivery-proof.js';
import { type DkimSelectorsFor, gatherDkim, judgeDkim } from './dkim.js';
import { gatherDmarc, judgeDmarc } from './dmarc.js';
import { judgeDnssec } from './dnssec.js';
import type { DomainCheck } from './finding.js';
import { gatherMtaSts } from './mta-sts.js';
import { gatherMx, judgeMx } from './mx.js';
import { gatherProbes, type MxProber } from './mx-probe.js';
import { judgeSpf } from './spf.js';
import { judgeTlsRpt } from './tls-rpt.js';
import { gatherTlsa, type TlsaFacts, tlsaProblem } from './tlsa.js';

export interface DomainCheckerDeps {
  resolver: DnsResolver;
  fetchMtaStsPolicy: MtaStsFetcher;
  dkimSelectorsFor: DkimSelectorsFor;
  /** Connects to an MX host to see the certificate it presents (src/dns/check/mx-probe.ts). */
  probeMx: MxProber;
  /** Whether the domain is one of the gateway's: only those are judged on SPF, DKIM and DMARC, which are about the gateway's own mail. */
  isClaimed: (domain: string) => Promise<boolean>;
  /** The gateway's own host name, for the SPF record it suggests. */
  gatewayHostname: string;
  clock: Clock;
}

/** Checks a domain's DNS for what the gateway needs of it; the domain must be a valid name (domainNameProblem). */
export interface DomainChecker {
  check(domain: string): Promise<DomainCheck>;
}

export function domainChecker(deps: DomainCheckerDeps): DomainChecker {
  return { check: (domain) => checkDomain(deps, domain) };
}

/**
 * Looks everything up (in parallel where nothing depends on an earlier answer), then judges
 * each part with a pure function. A cache private to this check asks each question once
 * (MX host addresses serve both the MX and the TLSA checks) and never serves a stale answer
 * to the next check, run after the operator fixed a record.
 */
export async function checkDomain(deps: DomainCheckerDeps, domain: string): Promise<DomainCheck> {
  const resolver = cachingResolver(deps.resolver, { clock: deps.clock });
  const checkedAt = deps.clock.now();
  const mx = await gatherMx(resolver, domain);
  const mxAuthenticated = mx.lookup.kind === 'ok' && mx.lookup.authenticated;
  const [tlsa, mtaSts, tlsRpt, claimed] = await Promise.all([
    gatherTlsa(resolver, mx.hosts),
    gatherMtaSts(resolver, deps.fetchMtaStsPolicy, domain),
    lookUpTxt(resolver, `_smtp._tls.${domain}`),
    deps.isClaimed(domain),
  ]);
  const [probes, ownMail] = await Promise.all([
    gatherProbes(deps.probeMx, mx.hosts, (host) => usableTlsaOf(tlsa, host.name), mxAuthenticated),
    claimed ? judgeOwnMail(deps, resolver, domain) : [],
  ]);
  const { hosts, sts, verdict, probeFindings } = judgeTransport(domain, { mx, tlsa, mtaSts }, checkedAt, probes);
  return {
    domain,
    checkedAt,
    findings: [
      judgeDnssec(domain, mx.lookup),
      judgeMx(domain, mx),
      ...hosts.map((host) => host.finding),
      ...probeFindings,
      sts.finding,
      judgeTlsRpt(domain, tlsRpt),
      ...ownMail,
    ],
    directDelivery: verdict,
  };
}

/** SPF, DKIM and DMARC as the gateway's own mail for a claimed domain needs them. */
async function judgeOwnMail(deps: DomainCheckerDeps, resolver: DnsResolver, domain: string) {
  const [spf, dkim, dmarc] = await Promise.all([
    lookUpTxt(resolver, domain),
    gatherDkim(resolver, deps.dkimSelectorsFor, domain),
    gatherDmarc(resolver, domain),
  ]);
  return [judgeSpf(domain, spf, deps.gatewayHostname), ...judgeDkim(domain, dkim), judgeDmarc(domain, dmarc)];
}

function usableTlsaOf(tlsa: TlsaFacts[], hostName: string) {
  const lookup = tlsa.find((facts) => facts.host.name === hostName)?.tlsa;
  return lookup?.kind === 'ok' && lookup.authenticated ? lookup.records.filter((record) => tlsaProblem(record) === undefined) : [];
}
