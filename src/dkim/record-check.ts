import type { Answer } from 'dns-packet';
import type { DnsResolver } from '../dns/index.js';
import { sameKey } from './keys.js';

/** What DNS shows at a key's name; only `published` lets a pending key sign. */
export type KeyCheckOutcome = 'published' | 'mismatch' | 'missing' | 'dns_error';

export interface KeyCheck {
  outcome: KeyCheckOutcome;
  /** One sentence for the operator. */
  detail: string;
  /** The TXT values found at the name, each joined from its strings. */
  found: string[];
}

/** Where a selector's key record lives (RFC 6376 §3.6.2.1). */
export function keyRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/**
 * Looks a key record up through our resolver and compares it with the one we generated.
 * A resolver failure is never "missing": a key is activated, and a retiring one reported
 * as removed, only on an answer.
 */
export async function checkKeyRecord(resolver: DnsResolver, name: string, expected: string): Promise<KeyCheck> {
  const response = await resolver.query(name, 'TXT');
  const none = (outcome: KeyCheckOutcome, detail: string): KeyCheck => ({ outcome, detail, found: [] });
  if (response.kind === 'timeout') return none('dns_error', `no answer from the DNS resolver ${response.servers.join(', ')} for ${name}`);
  if (response.kind === 'failed') return none('dns_error', `the DNS lookup of ${name} failed: ${response.detail}`);
  if (response.rcode === 'NXDOMAIN') return none('missing', `${name} does not exist (NXDOMAIN)`);
  if (response.rcode !== 'NOERROR') return none('dns_error', `the DNS resolver ${response.server} answered ${response.rcode} for ${name}`);
  const found = txtValues(response.answers);
  if (found.some((value) => sameKey(value, expected))) {
    const others = found.length > 1 ? `, beside ${found.length - 1} other TXT record(s) that make verifiers' choice unpredictable (RFC 6376 §3.6.2.2)` : '';
    return { outcome: 'published', detail: `${name} publishes this key${others}`, found };
  }
  if (found.length === 0) return none('missing', `${name} exists but has no TXT record`);
  return { outcome: 'mismatch', detail: `${name} has TXT ${found.map((v) => JSON.stringify(shorten(v))).join(', ')}, not this key`, found };
}

/** TXT values at the name, a CNAME chain's target included (providers often delegate DKIM so). */
function txtValues(answers: Answer[]): string[] {
  return answers.flatMap((answer) => {
    if (answer.type !== 'TXT') return [];
    const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
    return [parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('')];
  });
}

function shorten(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}
