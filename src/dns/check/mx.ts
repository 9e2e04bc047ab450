import { isLookupFailure, isNullMx, type Lookup, lookUpA, lookUpAaaa, lookUpMx, type MxRecord } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { type Finding, type Fix, finding } from './finding.js';

/** An MX host with its address lookups. */
export interface MxHost {
  name: string;
  preference: number;
  a: Lookup<string>;
  aaaa: Lookup<string>;
}

export interface MxFacts {
  lookup: Lookup<MxRecord>;
  /** Empty unless the lookup found MX records other than a null MX. */
  hosts: MxHost[];
}

export async function gatherMx(resolver: DnsResolver, domain: string): Promise<MxFacts> {
  const lookup = await lookUpMx(resolver, domain);
  if (lookup.kind !== 'ok' || isNullMx(lookup.records)) return { lookup, hosts: [] };
  const hosts = await Promise.all(
    lookup.records.map(async (record) => {
      const [a, aaaa] = await Promise.all([lookUpA(resolver, record.exchange), lookUpAaaa(resolver, record.exchange)]);
      return { name: record.exchange, preference: record.preference, a, aaaa };
    }),
  );
  return { lookup, hosts };
}

export const addressesOf = (host: MxHost) => [...(host.a.kind === 'ok' ? host.a.records : []), ...(host.aaaa.kind === 'ok' ? host.aaaa.records : [])];

const PLACEHOLDER_HOST = '<host that receives mail>';

export function judgeMx(domain: string, facts: MxFacts): Finding {
  const { lookup } = facts;
  const publish = (action: Fix['action'], how: string): Fix => ({ action, records: [{ name: domain, type: 'MX', value: `10 ${PLACEHOLDER_HOST}.` }], how });
  if (lookup.kind === 'nodata')
    return finding(
      'mx',
      domain,
      'fail',
      `${domain} has no MX record`,
      [],
      publish('publish', `publish an MX record naming the host that receives mail for ${domain}`),
    );
  if (lookup.kind !== 'ok') return finding('mx', domain, 'fail', lookup.detail);
  const found = lookup.records.map((record) => `${record.preference} ${record.exchange}.`);
  if (isNullMx(lookup.records))
    return finding(
      'mx',
      domain,
      'fail',
      `${domain} publishes a null MX: it accepts no mail (RFC 7505)`,
      found,
      publish('replace', 'replace the null MX if the domain should receive mail'),
    );
  const described = facts.hosts.map((host) => {
    const addresses = addressesOf(host);
    return { host, addresses, text: `${host.preference} ${host.name} (${addresses.length > 0 ? addresses.join(', ') : unresolved(host)})` };
  });
  const missing = described.filter((d) => d.addresses.length === 0);
  const status = missing.length === 0 ? 'pass' : missing.length === described.length ? 'fail' : 'warn';
  const fix: Fix | null =
    missing.length === 0
      ? null
      : { action: 'change', records: [], how: `give ${missing.map((d) => d.host.name).join(', ')} an A or AAAA record, or remove it from the MX records` };
  return finding('mx', domain, status, described.map((d) => d.text).join('; '), found, fix);
}

/** Why a host has no address, in a few words. */
function unresolved(host: MxHost): string {
  const failed = [host.a, host.aaaa].find(isLookupFailure);
  if (failed) return `no address: ${failed.detail}`;
  return host.a.kind === 'nxdomain' ? 'does not exist' : 'no A or AAAA record';
}
