import type { Answer, RecordType } from 'dns-packet';

/** The response code of an answer (RFC 1035 §4.1.1; the registry is RFC 6895 §2.3). */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | `RCODE_${number}`;

/**
 * Everything that can come of one question, as data: an answer with its response code, or
 * no answer at all. `server` is the resolver that answered (host:port), for messages.
 */
export type DnsResponse =
  | {
      kind: 'answer';
      server: string;
      rcode: Rcode;
      /** The AD bit: the resolver validated the answer with DNSSEC (RFC 4035 §3.2.3, RFC 6840 §5.7). */
      authenticated: boolean;
      answers: Answer[];
      /** The authority section: a negative answer's SOA (RFC 2308 §3), which bounds how long it may be cached. */
      authorities?: Answer[];
    }
  | { kind: 'timeout'; servers: string[]; waitedMs: number }
  | { kind: 'failed'; servers: string[]; detail: string };

/**
 * Asks a recursive resolver one question. Contract: never throws for anything the network
 * or the resolver does; every outcome, including silence, is a DnsResponse. Callers take a
 * DnsResolver as a parameter so that tests point them at a local server.
 */
export interface DnsResolver {
  query(name: string, type: RecordType): Promise<DnsResponse>;
}

const RCODES: Record<number, Rcode> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

/** The low four bits of the header flags are the RCODE (RFC 1035 §4.1.1). */
export function rcodeOf(flags: number): Rcode {
  const code = flags & 0xf;
  return RCODES[code] ?? `RCODE_${code}`;
}
