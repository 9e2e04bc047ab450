import { Agent, request } from 'undici';
import type { Clock } from '../lib/clock.js';

/** An OAuth 2.0 client registered with the provider (Entra ID app, Google Cloud OAuth client). */
export interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes, e.g. https://outlook.office365.com/.default; omitted from the request when null. */
  scope: string | null;
}

export interface OAuth2TokenCacheOptions {
  clock: Clock;
  /** Trust anchors (PEM, smarthostTrust: the default store plus smarthostCaFile); Node's default store when undefined. */
  ca?: string | undefined;
  /** A token is replaced this long before its expiry, so that none expires between fetch and AUTH. */
  refreshMarginMs?: number;
  timeoutMs?: number;
}

/** The endpoint refused or could not be reached; `message` is safe to show and to log (no secret, no token). */
export class OAuth2TokenError extends Error {}

interface Cached {
  /** Identifies the client the token was issued for: a changed secret or scope must not reuse it. */
  clientKey: string;
  accessToken: string;
  expiresAt: number;
}

/**
 * Access tokens by the client-credentials grant (RFC 6749 §4.4), cached per key (a
 * connection id) until `refreshMarginMs` before they expire. Concurrent requests for one key
 * share one fetch. The client secret goes in the form body (§2.3.1 allows it; Entra ID and
 * Google accept it), never in a URL; tokens and secrets never appear in an error message.
 */
export function oauth2TokenCache(options: OAuth2TokenCacheOptions) {
  const refreshMarginMs = options.refreshMarginMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const cached = new Map<string, Cached>();
  const pending = new Map<string, Promise<Cached>>();

  async function fetchFor(key: string, client: OAuth2Client, clientKey: string): Promise<Cached> {
    const started = options.clock.now();
    // An agent per fetch: tokens are fetched about once an hour, and no idle socket may keep a CLI process alive.
    const agent = new Agent({ connect: { rejectUnauthorized: true, ...(options.ca ? { ca: options.ca } : {}) } });
    const grant = await requestToken(agent, client, timeoutMs).finally(() => agent.destroy());
    const entry = { clientKey, accessToken: grant.accessToken, expiresAt: started + grant.expiresInS * 1000 };
    cached.set(key, entry);
    return entry;
  }

  return {
    /** A token valid for at least the refresh margin; `fresh` always fetches (the server refused the cached one). */
    async token(key: string, client: OAuth2Client, fresh = false): Promise<string> {
      const clientKey = `${client.tokenUrl}\n${client.clientId}\n${client.clientSecret}\n${client.scope ?? ''}`;
      const hit = cached.get(key);
      if (!fresh && hit && hit.clientKey === clientKey && hit.expiresAt - refreshMarginMs > options.clock.now()) return hit.accessToken;
      if (fresh) cached.delete(key);
      let inFlight = pending.get(key);
      if (!inFlight) {
        inFlight = fetchFor(key, client, clientKey).finally(() => pending.delete(key));
        pending.set(key, inFlight);
      }
      return (await inFlight).accessToken;
    },

    forget(key: string): void {
      cached.delete(key);
    },
  };
}

export type OAuth2TokenCache = ReturnType<typeof oauth2TokenCache>;

/** Without expires_in (it is only RECOMMENDED, RFC 6749 §5.1) a token is kept for five minutes. */
const DEFAULT_EXPIRES_IN_S = 300;

async function requestToken(agent: Agent, client: OAuth2Client, timeoutMs: number): Promise<{ accessToken: string; expiresInS: number }> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret });
  if (client.scope) form.set('scope', client.scope);
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(client.tokenUrl, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (err) {
    throw new OAuth2TokenError(`token endpoint ${client.tokenUrl} unreachable: ${(err as Error).message}`);
  }
  const text = await response.body.text().catch(() => '');
  const body = parseJson(text);
  if (response.statusCode !== 200) {
    // RFC 6749 §5.2: error and error_description say why (invalid_client, invalid_scope …).
    const reason = [body?.error, body?.error_description].filter((v) => typeof v === 'string').join(': ') || text.slice(0, 200);
    throw new OAuth2TokenError(`token endpoint ${client.tokenUrl} answered HTTP ${response.statusCode}${reason ? ` (${reason})` : ''}`);
  }
  const accessToken = body?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') throw new OAuth2TokenError(`token endpoint ${client.tokenUrl} answered without an access_token`);
  const expiresIn = Number(body?.expires_in);
  return { accessToken, expiresInS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN_S };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
