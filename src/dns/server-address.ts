import { getServers } from 'node:dns';
import { isIP } from 'node:net';

/** A resolver to send queries to: an IP address (not a name: resolving it would need DNS) and a port. */
export interface ServerAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** host:port as written in messages, IPv6 in brackets. */
  text: string;
}

const DNS_PORT = 53;

/** Parses `1.2.3.4`, `1.2.3.4:5353`, `::1` or `[::1]:5353`; a string is the problem. */
export function parseServerAddress(text: string): ServerAddress | string {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const hostPort = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  const [host, portText] = bracketed ? [bracketed[1], bracketed[2]] : hostPort ? [hostPort[1], hostPort[2]] : [text, undefined];
  const family = isIP(host ?? '');
  if (!host || (family !== 4 && family !== 6)) return `"${text}" is not an IP address with an optional port, e.g. 127.0.0.1:53 or [::1]:53`;
  const port = portText === undefined ? DNS_PORT : Number(portText);
  if (port < 1 || port > 65535) return `"${text}" has port ${port}, outside 1 to 65535`;
  return { host, port, family, text: family === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The machine's resolvers (from /etc/resolv.conf, as Node reads it at start). */
export function systemServers(): ServerAddress[] {
  return getServers()
    .map(parseServerAddress)
    .filter((s): s is ServerAddress => typeof s !== 'string');
}
