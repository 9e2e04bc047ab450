import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIPv6, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import tls from 'node:tls';
import { Agent, request as undiciRequest } from 'undici';
import type { DnsResolver } from '../dns/resolver.js';
import { checkWebhookDestination } from './destination-guard.js';

export type WebhookAnswer =
  | { kind: 'answered'; status: number; body: string; ms: number }
  | { kind: 'timeout'; ms: number }
  | { kind: 'failed'; detail: string; ms: number }
  | { kind: 'refused-destination'; problem: string };

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** The deadline of the HTTP exchange, connect to last body byte; DNS has the resolver's own budget. */
  timeoutMs: number;
}

/**
 * One POST to an application. Contract: never throws; every outcome is a WebhookAnswer. A 3xx is
 * an answer like any other (redirects are not followed: the new location was never checked).
 * `answered.body` is the first 2 KiB of the response as text, for the delivery log.
 */
export interface WebhookClient {
  post(request: WebhookRequest): Promise<WebhookAnswer>;
  /** Closes pooled connections; posts after close fail. Safe to call twice. */
  close(): Promise<void>;
}

export interface WebhookClientOptions {
  resolver: DnsResolver;
  /** Lets http and private addresses through, for local testing only. */
  allowPrivate: boolean;
  /** An extra trusted CA (PEM), added to Node's roots: for tests and private PKI. */
  ca?: string;
  userAgent: string;
}

const BODY_KEPT_BYTES = 2048;
/** Past this the rest of a response is not worth the wait: the connection is dropped instead of drained. */
const BODY_DRAINED_BYTES = 64 * 1024;
/** A ceiling for the agent; each post's own deadline is usually shorter and wins. */
const CONNECT_TIMEOUT_MS = 10_000;

export function webhookClient(options: WebhookClientOptions): WebhookClient {
  // The addresses the guard last approved for each host name. Connections are dialled only
  // to these (DNS rebinding defence), and the set of webhook hosts is small and configured.
  const vetted = new Map<string, string[]>();
  const agent = new Agent({
    connect: {
      rejectUnauthorized: true,
      // Giving `ca` replaces Node's default store, so the roots are listed with the extra CA.
      ca: options.ca ? [...tls.rootCertificates, options.ca] : undefined,
      lookup: vettedLookup(vetted),
      timeout: CONNECT_TIMEOUT_MS,
    },
  });
  let closing: Promise<void> | undefined;
  return {
    async post(request) {
      try {
        const destination = await checkWebhookDestination(request.url, options.resolver, { allowPrivate: options.allowPrivate });
        if (!destination.ok) return { kind: 'refused-destination', problem: destination.problem };
        vetted.set(destination.url.hostname.toLowerCase(), destination.addresses);
        return await send(agent, destination.url, request, options.userAgent);
      } catch (error) {
        return { kind: 'failed', detail: describe(error), ms: 0 };
      }
    },
    close() {
      closing ??= agent.close();
      return closing;
    },
  };
}

async function send(agent: Agent, url: URL, request: WebhookRequest, userAgent: string): Promise<WebhookAnswer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), request.timeoutMs);
  try {
    const response = await undiciRequest(url, {
      method: 'POST',
      dispatcher: agent,
      body: request.body,
      headers: { ...lowercaseKeys(request.headers), 'content-type': 'application/json', 'user-agent': userAgent },
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs,
      signal: deadline.signal,
    });
    const body = await readPrefix(response.body, BODY_KEPT_BYTES, BODY_DRAINED_BYTES);
    return { kind: 'answered', status: response.statusCode, body, ms: ms() };
  } catch (error) {
    if (deadline.signal.aborted || isUndiciTimeout(error)) return { kind: 'timeout', ms: ms() };
    return { kind: 'failed', detail: describe(error), ms: ms() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers Node's connect-time lookup from the guard's approved addresses, never from DNS.
 * With autoSelectFamily (Node 20's default) Node asks for all addresses, otherwise for one.
 */
function vettedLookup(vetted: Map<string, string[]>): LookupFunction {
  return (hostname: string, lookupOptions: LookupOptions, callback) => {
    const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : (lookupOptions.family ?? 0);
    const addresses: LookupAddress[] = (vetted.get(hostname.toLowerCase()) ?? [])
      .map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }))
      .filter((entry) => family === 0 || entry.family === family);
    const first = addresses[0];
    if (!first) {
      const error: NodeJS.ErrnoException = Object.assign(new Error(`${hostname} has no checked address to connect to`), { code: 'ENOTFOUND' });
      callback(error, '');
    } else if (lookupOptions.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  };
}

/**
 * Keeps the first bytes and reads the rest so the connection can be reused; an oversized
 * response is cut off instead. Resolves on close, rejects if the stream fails (a timeout).
 */
function readPrefix(body: Readable, keptBytes: number, drainedBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const kept: Buffer[] = [];
    let keptSoFar = 0;
    let seen = 0;
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (keptSoFar < keptBytes) {
        const part = chunk.subarray(0, keptBytes - keptSoFar);
        kept.push(part);
        keptSoFar += part.length;
      }
      if (seen > drainedBytes) body.destroy();
    });
    body.once('error', reject);
    // StringDecoder holds back a character cut in half at the 2 KiB mark instead of mangling it.
    body.once('close', () => resolve(new StringDecoder('utf8').write(Buffer.concat(kept))));
  });
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function isUndiciTimeout(error: unknown): boolean {
  return UNDICI_TIMEOUTS.has(errorCode(error) ?? '');
}

function errorCode(error: unknown): string | undefined {
  const code: unknown = error instanceof Error ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The message with its code when the message does not already say it ("self-signed certificate" → with DEPTH_ZERO_SELF_SIGNED_CERT). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errorCode(error);
  const cause = error.cause instanceof Error ? `: ${describe(error.cause)}` : '';
  return (code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message) + cause;
}
