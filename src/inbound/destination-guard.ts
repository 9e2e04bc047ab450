import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { DnsResolver, DnsResponse } from '../dns/resolver.js';

/**
 * SSRF defence for webhook URLs: a tenant-supplied URL must not make the gateway talk to
 * itself, its network or the cloud metadata service. Names are resolved through our resolver
 * (never the system one), every address is judged, and the caller connects only to the
 * addresses returned here, so a DNS answer that changes after the check cannot matter.
 */
export type DestinationCheck = { ok: true; url: URL; addresses: string[] } | { ok: false; problem: string };

export type WebhookUrlCheck = { ok: true; url: URL; host: string } | { ok: false; problem: string };

/** Said after every refused address, so an operator knows the one way to allow it. */
const PRIVATE_HINT = 'a webhook must be on a public address (inbound.allowPrivateWebhooks allows private ones, for tests and closed networks)';

/**
 * What can be judged from the URL alone: scheme, credentials, fragment, and a host that is a
 * loopback name or an address literal. Used when a target is set and again at each delivery;
 * a host name is judged by its addresses at delivery (checkWebhookDestination), since DNS
 * answers change. The WHATWG parser has already turned 2130706433 and 0x7f.1 into 127.0.0.1.
 */
export function checkWebhookUrl(url: string, options: { allowPrivate: boolean }): WebhookUrlCheck {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed) return { ok: false, problem: `"${url}" is not an absolute URL` };
  const schemes = options.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(parsed.protocol)) {
    const plain = parsed.protocol === 'http:' ? ' (http only with inbound.allowPrivateWebhooks, for tests and closed networks)' : '';
    return { ok: false, problem: `the scheme must be ${schemes.map((s) => s.slice(0, -1)).join(' or ')}, not ${parsed.protocol.slice(0, -1)}${plain}` };
  }
  // Credentials in a URL end up in logs and in Authorization headers nobody meant to send.
  if (parsed.username !== '' || parsed.password !== '')
    return { ok: false, problem: 'the URL must not carry a user name or password; the requests are signed instead' };
  // A fragment is never sent (RFC 9110 §7.1): whatever it was meant to carry would be lost.
  if (parsed.hash !== '' || url.includes('#')) return { ok: false, problem: 'the URL must not have a fragment (#…): it is never sent to the server' };
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (options.allowPrivate) return { ok: true, url: parsed, host };
  if (isLocalhostName(host)) return { ok: false, problem: `${host} is a loopback name (RFC 6761 §6.3); ${PRIVATE_HINT}` };
  const why = isIP(host) ? nonPublicReason(host) : undefined;
  if (why) return { ok: false, problem: `${host} is ${why}; ${PRIVATE_HINT}` };
  return { ok: true, url: parsed, host };
}

export async function checkWebhookDestination(url: string, resolver: DnsResolver, options: { allowPrivate: boolean }): Promise<DestinationCheck> {
  const checked = checkWebhookUrl(url, options);
  if (!checked.ok) return checked;
  const { url: parsed, host } = checked;
  const resolved = isIP(host) ? { ok: true as const, addresses: [host] } : await resolve(resolver, host.replace(/\.$/, ''));
  if (!resolved.ok) return resolved;
  if (!options.allowPrivate) {
    const refused = resolved.addresses.flatMap((address) => {
      const why = nonPublicReason(address);
      return why ? [`${address} is ${why}`] : [];
    });
    if (refused.length > 0) return { ok: false, problem: `${host} resolves to ${refused.join('; ')}; ${PRIVATE_HINT}` };
  }
  return { ok: true, url: parsed, addresses: resolved.addresses };
}

function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * A and AAAA together. One family failing while the other answers is not fatal: only the
 * addresses we return are ever dialled, so an unanswered family is simply not used.
 */
async function resolve(resolver: DnsResolver, name: string): Promise<{ ok: true; addresses: string[] } | { ok: false; problem: string }> {
  const [a, aaaa] = await Promise.all([resolver.query(name, 'A'), resolver.query(name, 'AAAA')]);
  const addresses = [...new Set([...addressesIn(a, 'A', isIPv4), ...addressesIn(aaaa, 'AAAA', isIPv6)])];
  if (addresses.length > 0) return { ok: true, addresses };
  const why = unresolvedReason(a) ?? unresolvedReason(aaaa) ?? 'no A or AAAA record';
  return { ok: false, problem: `${name} does not resolve: ${why}` };
}

function addressesIn(response: DnsResponse, type: 'A' | 'AAAA', valid: (text: string) => boolean): string[] {
  if (response.kind !== 'answer' || response.rcode !== 'NOERROR') return [];
  return response.answers.flatMap((answer) => (answer.type === type && typeof answer.data === 'string' && valid(answer.data) ? [answer.data] : []));
}

/** Undefined for an empty NOERROR answer (NODATA): the other family may still have addresses. */
function unresolvedReason(response: DnsResponse): string | undefined {
  if (response.kind === 'timeout') return `no answer from ${response.servers.join(', ')} within ${response.waitedMs} ms`;
  if (response.kind === 'failed') return response.detail;
  return response.rcode === 'NOERROR' ? undefined : response.rcode;
}

type Range = { base: bigint; prefix: number; why: string };

/** IANA's special-purpose registry (RFC 6890), most specific first where ranges nest. */
const V4_RANGES: Range[] = [
  v4('0.0.0.0', 32, 'unspecified (0.0.0.0)'),
  v4('0.0.0.0', 8, '"this network" (0.0.0.0/8, RFC 1122 §3.2.1.3)'),
  v4('10.0.0.0', 8, 'private (10.0.0.0/8, RFC 1918)'),
  v4('100.64.0.0', 10, 'shared address space, carrier-grade NAT (100.64.0.0/10, RFC 6598)'),
  v4('127.0.0.0', 8, 'loopback (127.0.0.0/8)'),
  v4('169.254.0.0', 16, 'link-local, where cloud metadata services live (169.254.0.0/16, RFC 3927)'),
  v4('172.16.0.0', 12, 'private (172.16.0.0/12, RFC 1918)'),
  v4('192.0.0.0', 24, 'IETF protocol assignments (192.0.0.0/24, RFC 6890)'),
  v4('192.0.2.0', 24, 'documentation (192.0.2.0/24, RFC 5737)'),
  v4('192.88.99.0', 24, '6to4 relay anycast (192.88.99.0/24, RFC 7526)'),
  v4('192.168.0.0', 16, 'private (192.168.0.0/16, RFC 1918)'),
  v4('198.18.0.0', 15, 'benchmarking (198.18.0.0/15, RFC 2544)'),
  v4('198.51.100.0', 24, 'documentation (198.51.100.0/24, RFC 5737)'),
  v4('203.0.113.0', 24, 'documentation (203.0.113.0/24, RFC 5737)'),
  v4('224.0.0.0', 4, 'multicast (224.0.0.0/4)'),
  v4('255.255.255.255', 32, 'broadcast (255.255.255.255)'),
  v4('240.0.0.0', 4, 'reserved (240.0.0.0/4)'),
];

const V6_RANGES: Range[] = [
  v6('::', 128, 'unspecified (::)'),
  v6('::1', 128, 'loopback (::1)'),
  v6('64:ff9b:1::', 48, 'local-use NAT64 (64:ff9b:1::/48, RFC 8215)'),
  v6('100::', 64, 'discard-only (100::/64, RFC 6666)'),
  v6('2001::', 32, 'Teredo (2001::/32, RFC 4380)'),
  v6('2001:2::', 48, 'benchmarking (2001:2::/48, RFC 5180)'),
  v6('2001:db8::', 32, 'documentation (2001:db8::/32, RFC 3849)'),
  v6('3fff::', 20, 'documentation (3fff::/20, RFC 9637)'),
  v6('fc00::', 7, 'unique local (fc00::/7, RFC 4193)'),
  v6('fe80::', 10, 'link-local (fe80::/10)'),
  v6('fec0::', 10, 'site-local, deprecated (fec0::/10, RFC 3879)'),
  v6('ff00::', 8, 'multicast (ff00::/8)'),
];

/** IPv6 forms that carry an IPv4 address: where they lead is decided by that address. */
const EMBEDDING: { base: bigint; prefix: number; name: string; v4At: number }[] = [
  { base: v6Value('::ffff:0:0'), prefix: 96, name: 'IPv4-mapped', v4At: 0 },
  { base: v6Value('::'), prefix: 96, name: 'IPv4-compatible', v4At: 0 },
  { base: v6Value('64:ff9b::'), prefix: 96, name: 'NAT64', v4At: 0 },
  { base: v6Value('2002::'), prefix: 16, name: '6to4', v4At: 80 },
];
const GLOBAL_UNICAST = { base: v6Value('2000::'), prefix: 3 };

/** Why an address is not a public destination, or undefined when it is one. */
export function nonPublicReason(address: string): string | undefined {
  if (isIPv4(address)) return v4Reason(v4Value(address));
  if (!isIPv6(address)) return 'not an IP address';
  const value = v6Value(address);
  const exact = V6_RANGES.find((range) => inRange(value, range, 128));
  if (exact) return exact.why;
  const embedding = EMBEDDING.find((form) => inRange(value, form, 128));
  if (embedding) {
    const inner = (value >> BigInt(embedding.v4At)) & 0xffffffffn;
    const why = v4Reason(inner);
    if (why) return `the ${embedding.name} form of ${v4Text(inner)}, which is ${why}`;
    // RFC 4291 §2.5.5.1 deprecated these; nothing public is reached that way.
    if (embedding.name === 'IPv4-compatible') return 'IPv4-compatible, deprecated (::/96, RFC 4291 §2.5.5.1)';
    // RFC 4291 §2.5.5.2: a mapped address stands for an IPv4 peer and is not meant for the wire;
    // how a socket treats one differs by platform, so the plain IPv4 address is asked for instead.
    if (embedding.name === 'IPv4-mapped') return `IPv4-mapped (::ffff:0:0/96, RFC 4291 §2.5.5.2): write ${v4Text(inner)} itself`;
    return undefined;
  }
  return inRange(value, GLOBAL_UNICAST, 128) ? undefined : 'reserved, outside global unicast (2000::/3, RFC 4291 §2.4)';
}

function v4Reason(value: bigint): string | undefined {
  return V4_RANGES.find((range) => inRange(value, range, 32))?.why;
}

function inRange(value: bigint, range: { base: bigint; prefix: number }, bits: number): boolean {
  const shift = BigInt(bits - range.prefix);
  return value >> shift === range.base >> shift;
}

function v4(text: string, prefix: number, why: string): Range {
  return { base: v4Value(text), prefix, why };
}

function v6(text: string, prefix: number, why: string): Range {
  return { base: v6Value(text), prefix, why };
}

function v4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** Expects an address that passed isIPv6: expands `::`, a dotted IPv4 tail and drops a zone. */
function v6Value(address: string): bigint {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const low = v4Value(dotted);
    text = `${text.slice(0, -dotted.length)}${(low >> 16n).toString(16)}:${(low & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}
