import type { Answer } from 'dns-packet';
import type { DnsResolver } from './resolver.js';

/** The TXT record that proves control of a domain: published by its owner, looked up by the gateway. */
export interface ProofRecord {
  type: 'TXT';
  name: string;
  value: string;
}

/** What a check found, in DNS words; only `verified` proves ownership. */
export type ProofOutcome = 'verified' | 'mismatch' | 'no_record' | 'nxdomain' | 'servfail' | 'dns_error' | 'timeout';

export interface ProofCheck {
  outcome: ProofOutcome;
  /** One sentence saying what was found instead, for the operator. */
  detail: string;
  /** The TXT values found at the record's name. */
  found: string[];
}

const PREFIX = 'relaygate-domain-verification=';

/**
 * An underscore label keeps the proof apart from the domain's own TXT records (SPF sits at
 * the apex), the convention of RFC 8552 for attribute leaves.
 */
export function proofRecord(domain: string, token: string): ProofRecord {
  return { type: 'TXT', name: `_relaygate.${domain}`, value: `${PREFIX}${token}` };
}

export async function checkOwnershipProof(resolver: DnsResolver, domain: string, token: string): Promise<ProofCheck> {
  const record = proofRecord(domain, token);
  const response = await resolver.query(record.name, 'TXT');
  const none = (outcome: ProofOutcome, detail: string): ProofCheck => ({ outcome, detail, found: [] });
  if (response.kind === 'timeout')
    return none('timeout', `no answer from the DNS resolver ${response.servers.join(', ')} within ${(response.waitedMs / 1000).toFixed(1)} s`);
  if (response.kind === 'failed') return none('dns_error', `the DNS lookup of ${record.name} failed: ${response.detail}`);
  if (response.rcode === 'NXDOMAIN') return none('nxdomain', `${record.name} does not exist (NXDOMAIN): publish the TXT record there`);
  if (response.rcode === 'SERVFAIL')
    return none(
      'servfail',
      `the DNS resolver ${response.server} answered SERVFAIL for ${record.name}: the domain's name servers failed or its DNSSEC did not validate`,
    );
  if (response.rcode !== 'NOERROR') return none('dns_error', `the DNS resolver ${response.server} answered ${response.rcode} for ${record.name}`);
  const found = txtValues(response.answers);
  if (found.includes(record.value)) return { outcome: 'verified', detail: `found ${quote(record.value)} at ${record.name}`, found };
  if (found.length === 0) return none('no_record', `${record.name} exists but has no TXT record`);
  const stale = found.some((v) => v.startsWith(PREFIX)) ? ' (a relaygate value with an old token: was the domain removed and added again?)' : '';
  return { outcome: 'mismatch', detail: `${record.name} has TXT ${found.map(quote).join(', ')} but not ${quote(record.value)}${stale}`, found };
}

/**
 * The TXT records of the answer (a CNAME chain's last owner included), each as its
 * character-strings joined without separator: long values are split into 255-octet
 * strings (RFC 1035 §3.3.14) and read back whole, as RFC 7208 §3.3 does for SPF.
 */
function txtValues(answers: Answer[]): string[] {
  return answers.flatMap((answer) => {
    if (answer.type !== 'TXT') return [];
    const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
    return [parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('')];
  });
}

const quote = (value: string) => JSON.stringify(value);
