import type { Lookup, MxRecord } from '../records.js';
import { type Finding, finding } from './finding.js';

/**
 * Is the zone signed and does it validate? Read from the AD bit of the MX answer, positive
 * or a denial (RFC 4035 §3.2.3): the answer the direct-delivery verdict rests on. The AD bit
 * is only as good as the path to the resolver, which is why the gateway's resolver should be
 * a validating one on the same host (RFC 7672 §2.1).
 */
export function judgeDnssec(domain: string, mx: Lookup<MxRecord>): Finding {
  if (mx.kind === 'servfail')
    return finding('dnssec', domain, 'fail', `DNSSEC validation fails or the name servers fail: ${mx.detail}`, [], {
      action: 'change',
      records: [],
      how: `check that the DS record of ${domain} at the parent matches a DNSKEY of the zone and that the signatures have not expired (dig +cd shows the data without validation)`,
    });
  if (mx.kind === 'timeout' || mx.kind === 'failed') return finding('dnssec', domain, 'fail', `could not be determined: ${mx.detail}`);
  if (mx.authenticated) return finding('dnssec', domain, 'pass', `the answers for ${domain} are DNSSEC-validated (the resolver set the AD bit)`);
  return finding(
    'dnssec',
    domain,
    'fail',
    `the answers for ${domain} are not DNSSEC-validated (no AD bit): the zone is not signed, its DS record is missing at the parent, or the configured resolver does not validate`,
    [],
    {
      action: 'change',
      records: [],
      how: `sign the zone of ${domain} at its DNS host and publish its DS record at the registrar; the gateway's dnsResolver must be a validating resolver`,
    },
  );
}
