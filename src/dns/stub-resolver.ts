import { randomInt } from 'node:crypto';
import * as packet from 'dns-packet';
import type { DnsResolver, DnsResponse } from './resolver.js';
import { rcodeOf } from './resolver.js';
import type { ServerAddress } from './server-address.js';
import { tcpExchange } from './tcp-exchange.js';
import { udpExchange } from './udp-exchange.js';

export interface StubResolverOptions {
  servers: ServerAddress[];
  /** The whole budget of one query, retransmissions and TCP fallback included. */
  timeoutMs?: number;
  retransmitMs?: number;
}

/** An admin waits on this (domain verification): long enough for a slow zone, short enough to answer. */
const DEFAULT_TIMEOUT_MS = 4000;
const DEFAULT_RETRANSMIT_MS = 1000;
/** The EDNS buffer size of DNS Flag Day 2020: avoids IP fragmentation, larger answers go over TCP. */
const EDNS_UDP_PAYLOAD_BYTES = 1232;

/**
 * A stub resolver over UDP with TCP fallback, on dns-packet rather than c-ares so that it
 * reports the AD bit and the exact RCODE, and keeps one deadline on every Node version.
 */
export function stubResolver(options: StubResolverOptions): DnsResolver {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retransmitMs = options.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
  const serverTexts = options.servers.map((s) => s.text);
  return {
    async query(name, type) {
      if (options.servers.length === 0) return { kind: 'failed', servers: [], detail: 'no DNS resolver is configured: set RELAYGATE_DNS_RESOLVER' };
      const started = Date.now();
      const deadline = started + timeoutMs;
      const id = randomInt(0, 0x10000);
      const query = packet.encode({
        type: 'query',
        id,
        // AD in a query asks a validating resolver to report whether it validated (RFC 6840 §5.7);
        // resolvers that predate RFC 6840 set AD only when the query has EDNS DO (RFC 4035 §3.2.3),
        // so both are set. DO also brings the RRSIGs along; callers pick records by type.
        flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
        questions: [{ type, name, class: 'IN' }],
        additionals: [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: EDNS_UDP_PAYLOAD_BYTES,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: packet.DNSSEC_OK,
            flag_do: true,
            options: [],
          },
        ],
      });
      const accepts = (message: Buffer) => isReplyTo(message, id, name, type);
      const udp = await udpExchange(options.servers, query, accepts, { deadline, retransmitMs });
      if (udp.kind === 'timeout') return { kind: 'timeout', servers: serverTexts, waitedMs: Date.now() - started };
      if (udp.kind === 'failed') return { kind: 'failed', servers: serverTexts, detail: udp.detail };
      const reply = packet.decode(udp.message);
      if (!reply.flag_tc) return toAnswer(udp.server, udp.message);
      const tcp = await tcpExchange(udp.server, query, deadline);
      if (tcp.kind === 'timeout') return { kind: 'timeout', servers: [udp.server.text], waitedMs: Date.now() - started };
      if (tcp.kind === 'failed') return { kind: 'failed', servers: [udp.server.text], detail: tcp.detail };
      if (!accepts(tcp.message)) return { kind: 'failed', servers: [udp.server.text], detail: `${udp.server.text} answered another question over TCP` };
      return toAnswer(udp.server, tcp.message);
    },
  };
}

/** A reply, to our id, to the question we asked (names compare case-insensitively, RFC 4343). */
function isReplyTo(message: Buffer, id: number, name: string, type: string): boolean {
  try {
    const decoded = packet.decode(message);
    const question = decoded.questions?.[0];
    return decoded.flag_qr && decoded.id === id && question?.type === type && question.name.toLowerCase() === name.toLowerCase();
  } catch {
    return false;
  }
}

function toAnswer(server: ServerAddress, message: Buffer): DnsResponse {
  const decoded = packet.decode(message);
  return {
    kind: 'answer',
    server: server.text,
    rcode: rcodeOf(decoded.flags ?? 0),
    authenticated: decoded.flag_ad,
    answers: decoded.answers ?? [],
    authorities: decoded.authorities ?? [],
  };
}
