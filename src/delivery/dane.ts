import { lookUpTlsa as lookUpTlsaRecords, tlsaName } from '../dns/records.js';
import type { DnsResolver } from '../dns/resolver.js';
import { isUsableTlsa, type Tlsa } from './dane-match.js';

/**
 * What the TLSA lookup of one MX host means for delivery (RFC 7672 §2.2):
 * - usable: secure records DANE can authenticate with: TLS is required and must match them;
 * - unusable: a secure RRset with no usable record: TLS is still required, without authentication;
 * - none: no DANE for this host: a validated denial, or an answer DNSSEC did not vouch for;
 * - failed: no usable answer (a validating resolver answers SERVFAIL for bogus data): the host
 *   is not used at all, or an attacker could strip DANE by spoiling the lookup.
 */
export type TlsaLookup =
  | { kind: 'usable'; records: Tlsa[] }
  | { kind: 'unusable'; found: number }
  | { kind: 'none'; dnssec: 'secure-denial' | 'insecure' }
  | { kind: 'failed'; detail: string };

/** The TLSA base is `_25._tcp.<mx host>` (RFC 7672 §2.2.3), also when tests dial another port. */
export async function lookUpTlsa(resolver: DnsResolver, mxHost: string): Promise<TlsaLookup> {
  const lookup = await lookUpTlsaRecords(resolver, mxHost);
  if (!('authenticated' in lookup)) {
    return { kind: 'failed', detail: `the TLSA lookup for ${tlsaName(mxHost)} failed: ${lookup.detail}` };
  }
  if (!lookup.authenticated) return { kind: 'none', dnssec: 'insecure' };
  if (lookup.kind !== 'ok') return { kind: 'none', dnssec: 'secure-denial' };
  const usable = lookup.records.filter(isUsableTlsa);
  return usable.length > 0 ? { kind: 'usable', records: usable } : { kind: 'unusable', found: lookup.records.length };
}
