import { readFile } from 'node:fs/promises';
import { isIPv6, type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { parsePolicy } from 'mailauth/lib/mta-sts.js';
import { Agent, request } from 'undici';
import { isLookupFailure, lookUpA, lookUpAaaa } from './records.js';
import type { DnsResolver } from './resolver.js';

/** A policy as RFC 8461 §3.2 defines it, parsed by mailauth. */
export interface MtaStsPolicy {
  mode: 'enforce' | 'testing' | 'none';
  mx: string[];
  maxAgeSeconds: number;
}

/** What fetching a policy came to; `url` is the one asked, port included when not 443. */
export type PolicyFetch =
  | { kind: 'ok'; url: string; policy: MtaStsPolicy; body: string; contentType: string }
  | { kind: 'invalid'; url: string; body: string; detail: string }
  | { kind: 'http-status'; url: string; status: number; detail: string }
  | { kind: 'unreachable'; url: string; detail: string };

export interface MtaStsFetchOptions {
  resolver: DnsResolver;
  /** A PEM file of CAs trusted besides Node's roots; read at each fetch, so a fix needs no restart. */
  caFile?: string;
  /** 443 (RFC 8461 §3.3); another port only for tests. */
  port?: number;
  timeoutMs?: number;
}

export type MtaStsFetcher = (domain: string) => Promise<PolicyFetch>;

const WELL_KNOWN = '/.well-known/mta-sts.txt';
/** RFC 8461 §3.3 leaves the limit to the sender; 64 KiB holds thousands of mx lines. */
const MAX_POLICY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt` as RFC 8461 §3.3 says: the
 * certificate must be valid for that name (PKIX, Node's roots plus `caFile`), redirects are
 * not followed, only 200 counts. The host is resolved through `resolver`, never the system.
 * Contract: never throws.
 */
export function mtaStsFetcher(options: MtaStsFetchOptions): MtaStsFetcher {
  return async (domain) => {
    const host = `mta-sts.${domain}`;
    const port = options.port ?? 443;
    const url = `https://${host}${port === 443 ? '' : `:${port}`}${WELL_KNOWN}`;
    const addresses = await policyHostAddresses(options.resolver, host);
    if (typeof addresses === 'string') return { kind: 'unreachable', url, detail: addresses };
    let extraCa: string | undefined;
    try {
      extraCa = options.caFile ? await readFile(options.caFile, 'utf8') : undefined;
    } catch (error) {
      return { kind: 'unreachable', url, detail: `cannot read the CA file ${options.caFile}: ${(error as Error).message}` };
    }
    const agent = new Agent({
      connect: { rejectUnauthorized: true, ca: extraCa ? [...tls.rootCertificates, extraCa] : undefined, lookup: fixedLookup(addresses) },
    });
    try {
      return await get(agent, url, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    } finally {
      await agent.destroy();
    }
  };
}

async function get(agent: Agent, url: string, timeoutMs: number): Promise<PolicyFetch> {
  try {
    const response = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (response.statusCode !== 200) {
      await response.body.dump();
      const redirect = response.statusCode >= 300 && response.statusCode < 400 ? ' (redirects are not followed, RFC 8461 §3.3)' : '';
      return { kind: 'http-status', url, status: response.statusCode, detail: `${url} answered HTTP ${response.statusCode}${redirect}` };
    }
    const body = await readCapped(response.body, MAX_POLICY_BYTES);
    if (body === undefined) return { kind: 'invalid', url, body: '', detail: `${url} is larger than ${MAX_POLICY_BYTES / 1024} KiB` };
    const contentType = String(response.headers['content-type'] ?? '');
    try {
      const parsed = parsePolicy(body);
      return { kind: 'ok', url, body, contentType, policy: { mode: parsed.mode, mx: parsed.mx ?? [], maxAgeSeconds: parsed.maxAge ?? 0 } };
    } catch (error) {
      return { kind: 'invalid', url, body, detail: `${url} is not a valid policy: ${(error as Error).message} (RFC 8461 §3.2)` };
    }
  } catch (error) {
    return { kind: 'unreachable', url, detail: `${url}: ${describe(error)}` };
  }
}

/** A and AAAA of the policy host; a string says why there are none. */
async function policyHostAddresses(resolver: DnsResolver, host: string): Promise<string[] | string> {
  const [a, aaaa] = await Promise.all([lookUpA(resolver, host), lookUpAaaa(resolver, host)]);
  const addresses = [...(a.kind === 'ok' ? a.records : []), ...(aaaa.kind === 'ok' ? aaaa.records : [])];
  if (addresses.length > 0) return addresses;
  if (a.kind === 'nxdomain') return a.detail;
  return [a, aaaa].find(isLookupFailure)?.detail ?? `${host} has no A or AAAA record`;
}

/** Node's connect-time lookup answered from addresses resolved beforehand. */
function fixedLookup(addresses: string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
  return (_hostname, lookupOptions, callback) => {
    const wanted = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : (lookupOptions.family ?? 0);
    const matching = entries.filter((entry) => wanted === 0 || entry.family === wanted);
    const first = matching[0];
    if (!first) callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }), '');
    else if (lookupOptions.all) callback(null, matching);
    else callback(null, first.address, first.family);
  };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code: unknown = Reflect.get(error, 'code');
  const cause = error.cause instanceof Error ? `: ${describe(error.cause)}` : '';
  return (typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message) + cause;
}
