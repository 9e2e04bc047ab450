import type { DnsResolver } from './resolver.js';
import { parseServerAddress, systemServers } from './server-address.js';
import { stubResolver } from './stub-resolver.js';

/**
 * The resolver the `dnsResolver` setting names (RELAYGATE_DNS_RESOLVER=host:port), or the
 * machine's own when it is unset. A setting that is not an IP address answers every query
 * with that problem instead of failing the whole process: only DNS features depend on it.
 */
export function configuredResolver(setting: string | undefined): DnsResolver {
  if (setting === undefined) return stubResolver({ servers: systemServers() });
  const server = parseServerAddress(setting);
  if (typeof server === 'string') {
    const detail = `the dnsResolver setting ${server}`;
    return { query: async () => ({ kind: 'failed', servers: [setting], detail }) };
  }
  return stubResolver({ servers: [server] });
}
