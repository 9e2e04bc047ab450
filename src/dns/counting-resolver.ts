import type { RecordType } from 'dns-packet';
import type { DnsResolver, DnsResponse } from './resolver.js';

/**
 * Reports every question and what came of it, for the metrics; the answer passes through
 * unchanged. Placed under the cache, it counts what reached the network.
 */
export function countingResolver(inner: DnsResolver, count: (type: RecordType, response: DnsResponse) => void): DnsResolver {
  return {
    async query(name, type) {
      const response = await inner.query(name, type);
      count(type, response);
      return response;
    },
  };
}
