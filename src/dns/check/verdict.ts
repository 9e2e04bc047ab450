import type { MtaStsPolicy } from '../mta-sts-fetch.js';
import { isNullMx, type Lookup, type MxRecord } from '../records.js';
import type { DirectDeliveryVerdict } from './finding.js';
import { policyCoversMx } from './mta-sts.js';
import { type MxProbe, probeGap } from './mx-probe.js';
import type { HostDane } from './tlsa.js';

export interface VerdictFacts {
  mx: Lookup<MxRecord>;
  /** Each MX host's DANE state, with `gap` saying in a few words why it is not `usable`. */
  hosts: { name: string; dane: HostDane; gap: string }[];
  /** The MTA-STS policy senders apply, null without a valid one. */
  mtaSts: MtaStsPolicy | null;
  /**
   * What each MX host presented when the checker connected (mx-probe.ts); when given, a host
   * counts only if it proves what its DNS promises. The proof before each delivery attempt
   * gives none: the delivery session checks the certificate itself.
   */
  probes?: Map<string, MxProbe>;
}

/**
 * May the gateway hand secure messages to this domain in the clear? Only over a transport
 * that authenticates the receiving server, which needs two things:
 *
 * 1. the MX records are DNSSEC-validated (AD): otherwise whoever forges DNS picks the server,
 *    and a certificate that matches the forged name proves nothing;
 * 2. every MX host is authenticated, each in one of two ways:
 *    - DANE: validated TLSA records with at least one usable (usage 2 or 3, RFC 7672 §3.1),
 *      over validated address records (RFC 7672 §2.2);
 *    - PKIX under MTA-STS: the domain's policy is in `enforce` mode and lists the host
 *      (RFC 8461 §4.1). Enforce is the domain's own promise that each MX presents a
 *      publicly valid certificate for its name, so refusing otherwise cannot break its
 *      mail. A certificate that merely happens to be valid today is not; without enforce,
 *      a host is not counted.
 *    With probes (the full check), each host must also show it: its certificate matches its
 *    TLSA records, or is valid for its name under the policy. The delivery engine checks
 *    every certificate again at each attempt.
 *    A host whose TLSA lookup fails (SERVFAIL, bogus) counts as neither: DANE senders defer
 *    to it (RFC 7672 §2.2), and MTA-STS does not replace DANE on a host that has TLSA.
 *
 * "DNSSEC + DANE" when every host has DANE, "DNSSEC + PKIX" when every host has one of the
 * two and some only MTA-STS (the weaker one is named), else "not possible" with each reason.
 * An explicit MX is required: implicit MX (RFC 5321 §5.1) is not judged.
 */
export function directDeliveryVerdict(domain: string, facts: VerdictFacts): DirectDeliveryVerdict {
  const reasons = mxObstacles(domain, facts.mx);
  if (reasons.length > 0) return notPossible(reasons);
  const viaPkix: string[] = [];
  const contradicted = (host: string, promise: 'dane' | 'pkix') => (facts.probes ? probeGap(facts.probes.get(host), promise) : undefined);
  for (const host of facts.hosts) {
    if (host.dane === 'usable') {
      const gap = contradicted(host.name, 'dane');
      if (gap) reasons.push(`${host.name}: ${gap}`);
      continue;
    }
    if (host.dane === 'failed') {
      reasons.push(`${host.name}: ${host.gap}`);
      continue;
    }
    const enforced = facts.mtaSts?.mode === 'enforce' && policyCoversMx(host.name, facts.mtaSts);
    const gap = enforced ? contradicted(host.name, 'pkix') : undefined;
    if (enforced && gap) reasons.push(`${host.name}: ${gap}`);
    else if (enforced) viaPkix.push(host.name);
    else reasons.push(`${host.name}: ${host.gap}, and no MTA-STS policy in enforce mode lists it`);
  }
  if (reasons.length > 0) return notPossible(reasons);
  if (viaPkix.length === 0) return { level: 'dnssec+dane', text: 'DNSSEC + DANE', reasons: [] };
  return { level: 'dnssec+pkix', text: 'DNSSEC + PKIX', reasons: [] };
}

function mxObstacles(domain: string, mx: Lookup<MxRecord>): string[] {
  switch (mx.kind) {
    case 'nxdomain':
      return [`${domain} does not exist`];
    case 'nodata':
      return [`${domain} has no MX record`];
    case 'servfail':
      return [`the MX lookup fails (SERVFAIL: its DNSSEC does not validate or its name servers fail)`];
    case 'timeout':
    case 'failed':
      return [`its MX records could not be looked up: ${mx.detail}`];
    case 'ok':
      if (isNullMx(mx.records)) return [`${domain} accepts no mail (null MX, RFC 7505)`];
      return mx.authenticated ? [] : ['its MX records are not DNSSEC-signed'];
  }
}

function notPossible(reasons: string[]): DirectDeliveryVerdict {
  return { level: 'not-possible', text: `not possible, because ${reasons.join('; ')}`, reasons };
}
