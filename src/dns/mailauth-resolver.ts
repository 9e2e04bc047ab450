import type { Answer, RecordType } from 'dns-packet';
import type { DnsResolver, DnsResponse } from './resolver.js';

/** The codes of node:dns errors, which is what mailauth switches on. */
type DnsErrorCode = 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL' | 'EREFUSED' | 'EFORMERR' | 'ENOTIMP' | 'EBADRESP' | 'ETIMEOUT' | 'ECONNREFUSED';

/** What `dns.promises.resolve` gives for each record type mailauth asks about (SPF a, mx, ptr, exists; DKIM and DMARC TXT). */
const SHAPES: Partial<Record<RecordType, (answer: Answer) => unknown>> = {
  // Each record's character-strings, kept apart: SPF and DKIM join them (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
  TXT: (answer) => (answer.type === 'TXT' ? txtStrings(answer.data) : undefined),
  MX: (answer) => (answer.type === 'MX' ? { exchange: answer.data.exchange, priority: answer.data.preference ?? 0 } : undefined),
  A: stringData,
  AAAA: stringData,
  PTR: stringData,
  CNAME: stringData,
  NS: stringData,
};

/**
 * mailauth's resolver contract, on top of our resolver, so that SPF, DKIM and DMARC ask the
 * configured DNS servers and never the system's. Contract: resolves to the records in
 * `dns.promises.resolve` shapes, or rejects with an Error whose `code` is node:dns's name
 * for what happened. mailauth reads ENOTFOUND and ENODATA as "nothing there" (SPF none or a
 * void lookup, DKIM "no key", DMARC none) and every other code as a temporary failure.
 */
export function nodeStyleResolver(resolver: DnsResolver): (name: string, rrtype: string) => Promise<unknown> {
  return async (name, rrtype) => {
    const type = rrtype.toUpperCase() as RecordType;
    const shape = SHAPES[type];
    if (!shape) throw dnsError('ENOTIMP', `${name} ${rrtype}: not a record type the gateway resolves for mail authentication`);
    // Such a name cannot exist (RFC 1035 §2.3.4), and asking would put a malformed question on
    // the wire. Nonexistence is also what RFC 7208 §4.3 makes of a malformed SPF domain.
    if (!isWellFormedName(name)) throw dnsError('ENOTFOUND', `${name} is not a well-formed domain name`);
    const response = await resolver.query(name, type);
    if (response.kind === 'answer' && response.rcode === 'NOERROR') {
      const records = response.answers.filter((answer) => answer.type === type).map(shape);
      if (records.length === 0) throw dnsError('ENODATA', `${name} has no ${type} record`);
      return records;
    }
    throw failure(name, type, response);
  };
}

/**
 * The message is read by people downstream (mailauth puts it in the SPF comment of the
 * header), so it names the question and the RCODE but not our resolvers; `cause` keeps the
 * whole response for logs.
 */
function failure(name: string, type: string, response: DnsResponse): Error {
  const question = `${name} ${type}`;
  if (response.kind === 'timeout') return temporary('ETIMEOUT', `${question}: no answer`, response);
  if (response.kind === 'failed') return temporary('ECONNREFUSED', `${question}: no resolver reachable`, response);
  if (response.rcode === 'NXDOMAIN') return dnsError('ENOTFOUND', `${question}: NXDOMAIN`, response);
  const code: DnsErrorCode =
    response.rcode === 'SERVFAIL' ? 'ESERVFAIL' : response.rcode === 'REFUSED' ? 'EREFUSED' : response.rcode === 'FORMERR' ? 'EFORMERR' : 'EBADRESP';
  return temporary(code, `${question}: ${response.rcode}`, response);
}

function dnsError(code: DnsErrorCode, message: string, cause?: DnsResponse): Error {
  return Object.assign(cause ? new Error(message, { cause }) : new Error(message), { code });
}

/**
 * Any RCODE other than NOERROR and NXDOMAIN, and silence, make SPF temperror (RFC 7208 §4.4),
 * also inside include: and redirect= (§5.2, §6.1). mailauth 4.13.3 marks only ETIMEOUT and
 * EREFUSED so and skips an include whose lookup failed any other way, which could turn a
 * SERVFAIL into "fail" on `-all`; the `spfResult` it reads from the error says temperror.
 */
function temporary(code: DnsErrorCode, message: string, cause: DnsResponse): Error {
  return Object.assign(dnsError(code, message, cause), { spfResult: { error: 'temperror', text: message } });
}

function stringData(answer: Answer): unknown {
  return 'data' in answer && typeof answer.data === 'string' ? answer.data : undefined;
}

function txtStrings(data: string | Buffer | Array<string | Buffer>): string[] {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8')));
}

/** Labels of 1 to 63 octets, 255 octets in all on the wire (RFC 1035 §2.3.4); one trailing dot allowed. */
function isWellFormedName(name: string): boolean {
  const bare = name.replace(/\.$/, '');
  return Buffer.byteLength(bare) <= 253 && bare.split('.').every((label) => label.length > 0 && Buffer.byteLength(label) <= 63);
}
