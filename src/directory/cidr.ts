import { isIPv4, isIPv6 } from 'node:net';

/** A parsed network: the address as a number of `bits` bits and the prefix length. */
export interface Network {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  /** As the operator wrote it, lowercased, with the prefix made explicit (`192.0.2.7/32`). */
  text: string;
}

/**
 * Parses `192.0.2.0/24`, `2001:db8::/32` or a bare address (a /32 or /128). Host bits set
 * under the prefix (`10.1.2.3/8`) are refused rather than silently masked: the operator
 * meant either the host or the network, and only they know which.
 */
export function parseNetwork(input: string): { network: Network } | { problem: string } {
  const text = input.trim().toLowerCase();
  const [address = '', prefixText, ...extra] = text.split('/');
  const family = isIPv4(address) ? 4 : isIPv6(address) && !address.includes('%') ? 6 : undefined;
  if (family === undefined || extra.length > 0) return { problem: `"${input}" is not an IPv4 or IPv6 network (e.g. 192.0.2.0/24 or 2001:db8::/32)` };
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= bits)) return { problem: `"${input}" has a prefix length outside 0-${bits}` };
  const value = family === 4 ? ipv4Value(address) : ipv6Value(address);
  const base = value & mask(prefix, bits);
  if (base !== value) return { problem: `"${input}" has host bits set under /${prefix}; did you mean ${format(family, base)}/${prefix}?` };
  return { network: { family, base, prefix, text: `${address}/${prefix}` } };
}

/** Whether a client address (as the socket reports it, IPv4-mapped IPv6 included) is in a network. */
export function networkContains(network: Network, clientIp: string): boolean {
  const client = clientAddress(clientIp);
  if (!client || client.family !== network.family) return false;
  const bits = network.family === 4 ? 32 : 128;
  return (client.value & mask(network.prefix, bits)) === network.base;
}

function clientAddress(ip: string): { family: 4 | 6; value: bigint } | undefined {
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped && isIPv4(mapped)) return { family: 4, value: ipv4Value(mapped) };
  if (isIPv4(ip)) return { family: 4, value: ipv4Value(ip) };
  const unzoned = ip.replace(/%.*$/, '');
  return isIPv6(unzoned) ? { family: 6, value: ipv6Value(unzoned) } : undefined;
}

function mask(prefix: number, bits: number): bigint {
  return ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Expects an address that passed isIPv6: expands `::` and an embedded dotted IPv4 tail. */
function ipv6Value(address: string): bigint {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const v4 = ipv4Value(dotted);
    text = `${text.slice(0, -dotted.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function format(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}
