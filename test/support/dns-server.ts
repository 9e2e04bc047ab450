import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import * as packet from 'dns-packet';

/**
 * What the server does for a name:
 * - `{ txt: [...] }` answers those TXT records (NOERROR), and `a`, `aaaa`, `mx` and `tlsa`
 *   those of their type; a type the entry does not list answers NODATA (NOERROR, no records),
 *   so `{}` is a name that exists with no records at all;
 * - `truncateUdp` answers over UDP with only the TC bit, so the client must retry over TCP;
 * - `ad` sets the AD bit, as a validating resolver does for secure data, and only when the
 *   query set DO or AD (RFC 6840 §5.7); `ttl` is the records' TTL (60 s unless given);
 * - `soa` puts an SOA with that TTL and MINIMUM in the authority section of the entry's
 *   negative answers (RFC 2308 §3); `nxdomain: true` makes the name NXDOMAIN with `soa` and `ad`;
 * - 'nxdomain', 'servfail', 'refused' answer with that RCODE; 'silent' never answers.
 * Names not in the zone are NXDOMAIN.
 */
export type ZoneEntry = RecordsEntry | 'nxdomain' | 'servfail' | 'refused' | 'silent';

export interface RecordsEntry {
  txt?: string[];
  a?: string[];
  aaaa?: string[];
  mx?: { exchange: string; priority: number }[];
  /** `data` in hex, e.g. { usage: 3, selector: 1, matchingType: 1, data: '8282e5…' }. */
  tlsa?: { usage: number; selector: number; matchingType: number; data: string }[];
  truncateUdp?: boolean;
  ad?: boolean;
  ttl?: number;
  soa?: { ttl: number; minimum: number };
  nxdomain?: boolean;
}

export interface SeenQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** The EDNS DO bit (RFC 3225) and the header's AD bit of the query. */
  dnssecOk: boolean;
  adRequested: boolean;
}

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, for the gateway's dnsResolver setting. */
  address: string;
  port: number;
  /** Change what a name answers; takes effect for the next query. */
  set(name: string, entry: ZoneEntry): void;
  /** Every query received, oldest first. */
  queries: SeenQuery[];
  stop(): Promise<void>;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/**
 * An authoritative-looking DNS server on 127.0.0.1, UDP and TCP on the same ephemeral port
 * (a client falls back to TCP on the same address, RFC 7766 §5), serving the zone it is given.
 */
export async function startDnsServer(zone: Record<string, ZoneEntry> = {}): Promise<TestDnsServer> {
  const entries = new Map(Object.entries(zone).map(([name, entry]) => [name.toLowerCase(), entry]));
  const queries: SeenQuery[] = [];
  const answer = (query: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    const request = packet.decode(query);
    const question = request.questions?.[0];
    if (!question) return undefined;
    const dnssecOk = request.additionals?.some((extra) => extra.type === 'OPT' && extra.flag_do) ?? false;
    queries.push({ name: question.name, type: question.type, transport, dnssecOk, adRequested: request.flag_ad });
    return respond(request, question, entries.get(question.name.toLowerCase()) ?? 'nxdomain', transport);
  };
  const { udp, tcp, port, connections } = await listenOnOnePort(answer);
  return {
    address: `127.0.0.1:${port}`,
    port,
    set: (name, entry) => entries.set(name.toLowerCase(), entry),
    queries,
    async stop() {
      for (const socket of connections) socket.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    },
  };
}

function respond(request: packet.DecodedPacket, question: packet.Question, entry: ZoneEntry, transport: 'udp' | 'tcp'): Buffer | undefined {
  if (entry === 'silent') return undefined;
  const reply = (rcode: number, extraFlags = 0, answers: packet.Answer[] = [], authorities: packet.Answer[] = []) =>
    packet.encode({
      type: 'response',
      id: request.id ?? 0,
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | extraFlags | rcode,
      questions: [question],
      answers,
      authorities,
    });
  if (entry === 'nxdomain') return reply(RCODE.NXDOMAIN);
  if (entry === 'servfail') return reply(RCODE.SERVFAIL);
  if (entry === 'refused') return reply(RCODE.REFUSED);
  if (entry.truncateUdp && transport === 'udp') return reply(RCODE.NOERROR, packet.TRUNCATED_RESPONSE);
  const asked = request.flag_ad || (request.additionals?.some((extra) => extra.type === 'OPT' && extra.flag_do) ?? false);
  const ad = entry.ad && asked ? packet.AUTHENTIC_DATA : 0;
  const soa: packet.Answer[] = entry.soa
    ? [
        {
          type: 'SOA',
          name: question.name,
          ttl: entry.soa.ttl,
          data: {
            mname: `ns1.${question.name}`,
            rname: `hostmaster.${question.name}`,
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: entry.soa.minimum,
          },
        },
      ]
    : [];
  if (entry.nxdomain) return reply(RCODE.NXDOMAIN, ad, [], soa);
  const answers = records(question, entry);
  return reply(RCODE.NOERROR, ad, answers, answers.length === 0 ? soa : []);
}

function records(question: packet.Question, entry: RecordsEntry): packet.Answer[] {
  const name = question.name;
  const ttl = entry.ttl ?? 60;
  switch (question.type) {
    // A value longer than one character-string is split into 255-octet strings (RFC 1035 §3.3.14).
    case 'TXT':
      return (entry.txt ?? []).map((value) => ({ type: 'TXT', name, ttl, data: chunks(value, 255) }));
    case 'A':
      return (entry.a ?? []).map((address) => ({ type: 'A', name, ttl, data: address }));
    case 'AAAA':
      return (entry.aaaa ?? []).map((address) => ({ type: 'AAAA', name, ttl, data: address }));
    case 'MX':
      return (entry.mx ?? []).map(({ exchange, priority }) => ({ type: 'MX', name, ttl, data: { exchange, preference: priority } }));
    case 'TLSA':
      return (entry.tlsa ?? []).map(({ usage, selector, matchingType, data }) => ({
        type: 'TLSA',
        name,
        ttl,
        data: { usage, selector, matchingType, certificate: Buffer.from(data, 'hex') },
      }));
    default:
      return [];
  }
}

function chunks(value: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += size) parts.push(value.slice(i, i + size));
  return parts.length > 0 ? parts : [''];
}

type Answerer = (query: Buffer, transport: 'udp' | 'tcp') => Buffer | undefined;

/** UDP on an ephemeral port, then TCP on the same number; tries again if TCP finds it taken. */
async function listenOnOnePort(answer: Answerer): Promise<{ udp: UdpSocket; tcp: Server; port: number; connections: Set<Socket> }> {
  for (let attempt = 0; ; attempt += 1) {
    const udp = await bindUdp(answer);
    const port = udp.address().port;
    const connections = new Set<Socket>();
    const tcp = createServer((socket) => serveTcp(socket, answer, connections));
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return { udp, tcp, port, connections };
    udp.close();
    if (attempt >= 20) throw new Error('no port free for both UDP and TCP on 127.0.0.1');
  }
}

function bindUdp(answer: Answerer): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const udp = createSocket('udp4');
    udp.on('message', (message: Buffer, from: RemoteInfo) => {
      const reply = safely(() => answer(message, 'udp'));
      if (reply) udp.send(reply, from.port, from.address);
    });
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => resolve(udp));
  });
}

/** Length-prefixed messages (RFC 1035 §4.2.2), several per connection. */
function serveTcp(socket: Socket, answer: Answerer, connections: Set<Socket>): void {
  connections.add(socket);
  socket.on('close', () => connections.delete(socket));
  socket.on('error', () => socket.destroy());
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + message.length);
      const reply = safely(() => answer(message, 'tcp'));
      if (reply) socket.write(Buffer.concat([lengthPrefix(reply.length), reply]));
    }
  });
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length);
  return prefix;
}

/** A malformed query is dropped, as a real server would, rather than crashing the test. */
function safely<T>(work: () => T): T | undefined {
  try {
    return work();
  } catch {
    return undefined;
  }
}
