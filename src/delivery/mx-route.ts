import { isNullMx, type Lookup, lookUpA, lookUpAaaa, lookUpMx } from '../dns/records.js';
import type { DnsResolver } from '../dns/resolver.js';

export interface MxHost {
  name: string;
  preference: number;
}

/**
 * Where a domain's mail goes (RFC 5321 §5.1). `secure` says whether the answer that named the
 * hosts was DNSSEC-validated (the AD bit); DANE applies only then (RFC 7672 §2.2.1).
 * `implicit`: the domain has no MX, so the domain itself is the one host.
 */
export type MxRoute =
  | { kind: 'hosts'; hosts: MxHost[]; secure: boolean; implicit: boolean }
  /** RFC 7505: the domain says it accepts no mail. */
  | { kind: 'null-mx' }
  /** NXDOMAIN: there is no such domain. */
  | { kind: 'no-domain'; detail: string }
  /** No usable answer (SERVFAIL, which a validating resolver also gives for bogus data; timeout …): try later. */
  | { kind: 'failed'; detail: string };

export async function lookUpMxRoute(resolver: DnsResolver, domain: string, random: () => number = Math.random): Promise<MxRoute> {
  const mx = await lookUpMx(resolver, domain);
  if (mx.kind === 'nxdomain') return { kind: 'no-domain', detail: mx.detail };
  if (mx.kind === 'nodata') {
    // RFC 5321 §5.1: no MX at all means the domain itself is the host (its A/AAAA records).
    return { kind: 'hosts', hosts: [{ name: domain.toLowerCase(), preference: 0 }], secure: mx.authenticated, implicit: true };
  }
  if (mx.kind !== 'ok') return { kind: 'failed', detail: `the MX lookup for ${domain} failed: ${mx.detail}` };
  if (isNullMx(mx.records)) return { kind: 'null-mx' };
  // RFC 7505 §3: a null MX is the only MX of its domain; beside real ones it is ignored.
  const hosts = mx.records.filter((r) => r.exchange !== '').map((r) => ({ name: r.exchange, preference: r.preference }));
  if (hosts.length === 0) return { kind: 'null-mx' };
  return { kind: 'hosts', hosts: byPreference(hosts, random), secure: mx.authenticated, implicit: false };
}

/** A host's addresses, IPv4 first; `secure` only when every answer was DNSSEC-validated (RFC 7672 §2.2.2). */
export type HostAddresses = { kind: 'found'; addresses: string[]; secure: boolean } | { kind: 'failed'; detail: string };

export async function lookUpAddresses(resolver: DnsResolver, host: string): Promise<HostAddresses> {
  const lookups = await Promise.all([lookUpA(resolver, host), lookUpAaaa(resolver, host)]);
  const addresses = lookups.flatMap((l) => (l.kind === 'ok' ? l.records : []));
  if (addresses.length === 0) {
    const failure = lookups.find((l) => l.kind !== 'nodata');
    return { kind: 'failed', detail: `${host} has no address: ${failure && 'detail' in failure ? failure.detail : 'no A or AAAA record'}` };
  }
  // A lookup that got no answer (SERVFAIL, timeout) does not make the others insecure: blocking
  // AAAA queries must not be a way to switch DANE off for a host whose A records validate.
  const answered = lookups.filter((l): l is Extract<Lookup<string>, { authenticated: boolean }> => 'authenticated' in l);
  return { kind: 'found', addresses, secure: answered.every((l) => l.authenticated) };
}

/** RFC 5321 §5.1: lowest preference first; equal preferences in random order, to spread the load. */
function byPreference(hosts: MxHost[], random: () => number): MxHost[] {
  const keyed = hosts.map((h) => ({ h, tie: random() }));
  keyed.sort((a, b) => a.h.preference - b.h.preference || a.tie - b.tie);
  return keyed.map((k) => k.h);
}
