import type { Answer, RecordType } from 'dns-packet';
import type { DnsResolver, DnsResponse } from './resolver.js';

/**
 * One lookup's outcome in the words mail code decides on. `authenticated` is the AD bit of
 * the resolver's answer (RFC 4035 §3.2.3): on an answer it says the records are
 * DNSSEC-validated, on nxdomain/nodata that the denial is (RFC 7672 §2.1 tells the two
 * kinds of "nothing there" apart by it). `servfail` is kept apart from the other failures:
 * from a validating resolver it is also what bogus data looks like, and RFC 7672 §2.2
 * makes a DANE client defer on it rather than fall back.
 */
export type Lookup<T> =
  | { kind: 'ok'; records: T[]; authenticated: boolean /** The smallest TTL of the records. */; ttlSeconds: number }
  | LookupDenial
  | LookupFailure;

/** The name does not exist, or has no record of the type. */
export type LookupDenial = { kind: 'nxdomain'; authenticated: boolean; detail: string } | { kind: 'nodata'; authenticated: boolean; detail: string };

/** No answer to go by: retry later. */
export type LookupFailure = { kind: 'servfail'; detail: string } | { kind: 'timeout'; detail: string } | { kind: 'failed'; detail: string };

export const isLookupFailure = <T>(lookup: Lookup<T>): lookup is LookupFailure =>
  lookup.kind === 'servfail' || lookup.kind === 'timeout' || lookup.kind === 'failed';

/** An MX record; `exchange` lowercase without the trailing dot, '' for the root (a null MX). */
export interface MxRecord {
  exchange: string;
  preference: number;
}

/** A TLSA record (RFC 6698 §2.1); `data` is the certificate association data. */
export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

/** The MX records of `domain`, most preferred first (RFC 5321 §5.1). */
export function lookUpMx(resolver: DnsResolver, domain: string): Promise<Lookup<MxRecord>> {
  return lookUp(resolver, domain, 'MX', (answer) => (answer.type === 'MX' ? [mxRecord(answer.data)] : [])).then((lookup) =>
    lookup.kind === 'ok' ? { ...lookup, records: [...lookup.records].sort((a, b) => a.preference - b.preference) } : lookup,
  );
}

export function lookUpA(resolver: DnsResolver, host: string): Promise<Lookup<string>> {
  return lookUp(resolver, host, 'A', (answer) => (answer.type === 'A' ? [answer.data] : []));
}

export function lookUpAaaa(resolver: DnsResolver, host: string): Promise<Lookup<string>> {
  return lookUp(resolver, host, 'AAAA', (answer) => (answer.type === 'AAAA' ? [answer.data] : []));
}

/** The TLSA records of an SMTP server: `_25._tcp.<host>` by default (RFC 7672 §2.2.3). */
export function lookUpTlsa(resolver: DnsResolver, host: string, port = 25): Promise<Lookup<TlsaRecord>> {
  return lookUp(resolver, tlsaName(host, port), 'TLSA', (answer) =>
    answer.type === 'TLSA'
      ? [{ usage: answer.data.usage, selector: answer.data.selector, matchingType: answer.data.matchingType, data: answer.data.certificate }]
      : [],
  );
}

/**
 * The TXT records at `name`, each as its character-strings joined without separator: long
 * values are split into 255-octet strings (RFC 1035 §3.3.14) and read back whole, as
 * SPF (RFC 7208 §3.3), DKIM (RFC 6376 §3.6.2.2) and MTA-STS (RFC 8461 §3.1) do.
 */
export function lookUpTxt(resolver: DnsResolver, name: string): Promise<Lookup<string>> {
  return lookUp(resolver, name, 'TXT', (answer) => (answer.type === 'TXT' ? [txtValue(answer.data)] : []));
}

export const tlsaName = (host: string, port = 25) => `_${port}._tcp.${host}`;

/** A null MX: one record whose exchange is the root (RFC 7505 §3), "this domain accepts no mail". */
export const isNullMx = (records: MxRecord[]) => records.length === 1 && records[0]?.exchange === '';

/** `3 1 1 8282e5…`, the presentation form (RFC 6698 §2.2). */
export const tlsaText = (record: TlsaRecord) => `${record.usage} ${record.selector} ${record.matchingType} ${record.data.toString('hex')}`;

async function lookUp<T>(resolver: DnsResolver, name: string, type: RecordType, pick: (answer: Answer) => T[]): Promise<Lookup<T>> {
  const response = await resolver.query(name, type);
  if (response.kind !== 'answer') return failure(name, type, response);
  const { rcode, authenticated } = response;
  if (rcode === 'NXDOMAIN') return { kind: 'nxdomain', authenticated, detail: `${name} does not exist (NXDOMAIN)` };
  if (rcode === 'SERVFAIL')
    return {
      kind: 'servfail',
      detail: `the DNS resolver ${response.server} answered SERVFAIL for ${name} ${type}: the domain's name servers failed or its DNSSEC did not validate`,
    };
  if (rcode !== 'NOERROR') return { kind: 'failed', detail: `the DNS resolver ${response.server} answered ${rcode} for ${name} ${type}` };
  // Picked by type only: a CNAME chain's records come along, and DO adds the RRSIGs.
  const ofType = response.answers.filter((answer) => answer.type === type);
  const records = ofType.flatMap(pick);
  if (records.length === 0) return { kind: 'nodata', authenticated, detail: `${name} has no ${type} record` };
  const ttlSeconds = Math.min(...ofType.map((answer) => ('ttl' in answer ? (answer.ttl ?? 0) : 0)));
  return { kind: 'ok', records, authenticated, ttlSeconds };
}

function failure(name: string, type: string, response: Exclude<DnsResponse, { kind: 'answer' }>): LookupFailure {
  if (response.kind === 'timeout')
    return {
      kind: 'timeout',
      detail: `no answer for ${name} ${type} from the DNS resolver ${response.servers.join(', ')} within ${(response.waitedMs / 1000).toFixed(1)} s`,
    };
  return { kind: 'failed', detail: `the DNS lookup of ${name} ${type} failed: ${response.detail}` };
}

function mxRecord(data: { exchange: string; preference?: number | undefined }): MxRecord {
  return { exchange: data.exchange.toLowerCase().replace(/\.$/, ''), preference: data.preference ?? 0 };
}

function txtValue(data: string | Buffer | Array<string | Buffer>): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join('');
}
