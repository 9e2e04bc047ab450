import { isIPv4, isIPv6 } from 'node:net';

/**
 * Open connections per client address, across every SMTP listener of the process, so that one
 * client (200 idle or trickling sockets) cannot take every slot of maxConnections. IPv6 clients
 * are counted per /64: a single host is usually given a whole /64 (RFC 6177), and counting per
 * address would let it open a new address for each connection. A connection is counted from the
 * TCP accept (before the implicit TLS handshake) until its socket closes.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  /** `limit` 0 turns the limit off. */
  constructor(private readonly limit: number) {}

  /** A release function to call once at close, or undefined when the address has no slot left. */
  take(address: string | undefined): (() => void) | undefined {
    const group = clientGroupOf(address ?? '');
    const count = this.open.get(group) ?? 0;
    if (this.limit > 0 && count >= this.limit) return undefined;
    this.open.set(group, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(group) ?? 1) - 1;
      if (left > 0) this.open.set(group, left);
      else this.open.delete(group);
    };
  }
}

/** The address an IPv4 client connects from (IPv4-mapped IPv6 included), or the /64 of an IPv6 client. */
export function clientGroupOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
