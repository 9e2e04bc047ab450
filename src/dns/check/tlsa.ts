import { type Lookup, lookUpTlsa, type TlsaRecord, tlsaName, tlsaText } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { type Finding, type Fix, finding } from './finding.js';
import { addressesOf, type MxHost } from './mx.js';

/**
 * What DANE can do for one MX host (RFC 7672 §2.2): `usable` authenticates its certificate;
 * `unusable` means validated TLSA records none of which SMTP may use (TLS without
 * authentication); `absent` no TLSA; `insecure` DANE does not apply (an MX, address or TLSA
 * answer not DNSSEC-validated); `failed` a lookup failed, and DANE senders defer.
 */
export type HostDane = 'usable' | 'unusable' | 'absent' | 'insecure' | 'failed';

export interface TlsaFacts {
  host: MxHost;
  tlsa: Lookup<TlsaRecord>;
}

export async function gatherTlsa(resolver: DnsResolver, hosts: MxHost[]): Promise<TlsaFacts[]> {
  return Promise.all(hosts.map(async (host) => ({ host, tlsa: await lookUpTlsa(resolver, host.name) })));
}

const GAPS: Record<HostDane, string> = {
  usable: '',
  unusable: 'no usable TLSA record (usages 0 and 1 are not, RFC 7672 §3.1.3)',
  absent: 'no TLSA record',
  insecure: 'no DNSSEC-validated TLSA record',
  failed: 'its TLSA lookup fails (SERVFAIL), so senders that validate DNSSEC defer to it',
};

const USAGES: Record<number, string> = { 0: 'PKIX-TA', 1: 'PKIX-EE', 2: 'DANE-TA', 3: 'DANE-EE' };
/** Bytes of the association data per matching type: SHA2-256, SHA2-512 (RFC 6698 §2.1.3). */
const DIGEST_BYTES: Record<number, number> = { 1: 32, 2: 64 };

/** Why a TLSA record cannot authenticate an SMTP server, or undefined when it can. */
export function tlsaProblem(record: TlsaRecord): string | undefined {
  // RFC 7672 §3.1.3: SMTP clients treat PKIX-TA(0) and PKIX-EE(1) as unusable.
  if (record.usage === 0 || record.usage === 1) return `usage ${record.usage} (${USAGES[record.usage]}) is not usable for SMTP (RFC 7672 §3.1.3)`;
  if (record.usage !== 2 && record.usage !== 3) return `usage ${record.usage} is unknown`;
  if (record.selector !== 0 && record.selector !== 1) return `selector ${record.selector} is unknown`;
  if (record.matchingType === 0) return record.data.length > 0 ? undefined : 'the data is empty';
  const expected = DIGEST_BYTES[record.matchingType];
  if (expected === undefined) return `matching type ${record.matchingType} is unknown`;
  return record.data.length === expected ? undefined : `the digest has ${record.data.length} bytes instead of ${expected}`;
}

export interface TlsaJudgement {
  finding: Finding;
  dane: HostDane;
  /** Why DANE does not authenticate the host, in a few words; '' when it does. */
  gap: string;
}

export function judgeTlsa(facts: TlsaFacts, mxAuthenticated: boolean): TlsaJudgement {
  const { host, tlsa } = facts;
  const name = tlsaName(host.name);
  const found = tlsa.kind === 'ok' ? tlsa.records.map(tlsaText) : [];
  const result = (dane: HostDane, status: Finding['status'], summary: string, fix: Fix | null = null): TlsaJudgement => ({
    dane,
    gap: GAPS[dane],
    finding: finding('tlsa', name, status, summary, found, fix),
  });
  if (tlsa.kind === 'servfail')
    return result('failed', 'fail', `the TLSA lookup fails, so senders that validate DNSSEC defer all mail to ${host.name} (RFC 7672 §2.2): ${tlsa.detail}`, {
      action: 'change',
      records: [],
      how: `make the TLSA records of ${name} validate (re-sign the zone) or remove them`,
    });
  if (tlsa.kind === 'timeout' || tlsa.kind === 'failed') return { ...result('failed', 'fail', tlsa.detail), gap: 'its TLSA records could not be looked up' };
  if (!mxAuthenticated) return result('insecure', 'warn', `DANE does not apply: the MX records are not DNSSEC-validated (RFC 7672 §2.2.1)`);
  const addressProblem = hostAddressProblem(host);
  if (addressProblem)
    return { ...result(addressProblem.dane, addressProblem.dane === 'failed' ? 'fail' : 'warn', addressProblem.text), gap: addressProblem.gap };
  if (tlsa.kind === 'nxdomain' || tlsa.kind === 'nodata')
    return result('absent', 'warn', `no TLSA record: DANE is not offered for ${host.name}`, publishTlsa(name, host.name, 'publish'));
  if (!tlsa.authenticated)
    return result('insecure', 'warn', `the TLSA records are not DNSSEC-validated, so senders ignore them (RFC 7672 §2.2)`, {
      action: 'change',
      records: [],
      how: `sign the zone that holds ${name}`,
    });
  return judgeRecords(tlsa.records, name, host.name, result);
}

function judgeRecords(
  records: TlsaRecord[],
  name: string,
  hostName: string,
  result: (dane: HostDane, status: Finding['status'], summary: string, fix?: Fix | null) => TlsaJudgement,
) {
  const problems = records.map((record) => ({ record, problem: tlsaProblem(record) }));
  const usable = problems.filter((p) => p.problem === undefined);
  const unusable = problems.filter((p) => p.problem !== undefined).map((p) => `${tlsaText(p.record).slice(0, 16)}…: ${p.problem}`);
  if (usable.length === 0)
    return result(
      'unusable',
      'fail',
      `no usable TLSA record, so senders use TLS without authentication (RFC 7672 §2.2): ${unusable.join('; ')}`,
      publishTlsa(name, hostName, 'replace'),
    );
  const kinds = [...new Set(usable.map((p) => `${USAGES[p.record.usage]} ${p.record.usage} ${p.record.selector} ${p.record.matchingType}`))].join(', ');
  const summary = `${usable.length} usable TLSA record${usable.length === 1 ? '' : 's'} (${kinds}): DANE authenticates ${hostName}`;
  if (unusable.length === 0) return result('usable', 'pass', summary);
  return result('usable', 'warn', `${summary}; ignored: ${unusable.join('; ')}`, {
    action: 'remove',
    records: [],
    how: 'remove the unusable TLSA records: senders skip them, and usages 0 and 1 should not be published for SMTP (RFC 7672 §3.1.3)',
  });
}

/** RFC 7672 §2.2.2: DANE applies only when the host's address records are validated too. */
function hostAddressProblem(host: MxHost): { dane: HostDane; text: string; gap: string } | undefined {
  if (addressesOf(host).length === 0) return { dane: 'failed', text: `${host.name} has no address to deliver to`, gap: 'it has no address' };
  const answered = [host.a, host.aaaa].filter((lookup) => lookup.kind === 'ok' || lookup.kind === 'nodata' || lookup.kind === 'nxdomain');
  const insecure = answered.some((lookup) => 'authenticated' in lookup && !lookup.authenticated);
  if (insecure)
    return {
      dane: 'insecure',
      text: `DANE does not apply: the address records of ${host.name} are not DNSSEC-validated (RFC 7672 §2.2.2)`,
      gap: 'its address records are not DNSSEC-validated',
    };
  return undefined;
}

function publishTlsa(name: string, hostName: string, action: 'publish' | 'replace'): Fix {
  return {
    action,
    records: [{ name, type: 'TLSA', value: `3 1 1 <SHA-256 of the public key (SPKI) of ${hostName}'s certificate>` }],
    how:
      'DANE-EE (3 1 1) pins the server key and survives certificate renewals with the same key; compute it with ' +
      '`openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`, and publish the next key beside it before a key change (RFC 7671 §8.1)',
  };
}
