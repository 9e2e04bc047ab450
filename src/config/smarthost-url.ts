export type SmarthostTls = 'starttls' | 'implicit' | 'none';

export interface SmarthostTarget {
  host: string;
  port: number;
  tls: SmarthostTls;
  auth?: { user: string; pass: string };
  /** Presented when the server asks for a client certificate (Exchange Online connectors check its name). */
  clientCert?: { cert: string; key: string };
  /** OAuth 2.0 instead of a password (RFC 7628; Google's XOAUTH2); excludes `auth`. */
  oauth?: OAuthTarget;
}

export type OAuthMechanism = 'XOAUTH2' | 'OAUTHBEARER';

export interface OAuthTarget {
  mechanism: OAuthMechanism;
  /** The mailbox the token acts for (user= in XOAUTH2, a= in OAUTHBEARER). */
  user: string;
  /** Where tokens come from, for reports; never carries a secret. */
  tokenUrl: string;
  /** A current access token; `fresh` discards the cached one (after the server refused it). Rejects with the endpoint's reason. */
  token(fresh: boolean): Promise<string>;
}

/**
 * Parses `smtp://user:pass@host:port` (STARTTLS required), `smtps://…` (implicit TLS) and
 * `?tls=none` (plaintext, meant only for a local test sink). Returns a problem sentence
 * instead of throwing so the config loader can report it with the key it came from.
 */
export function parseSmarthostUrl(text: string): SmarthostTarget | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'is not a URL' };
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    return { problem: `has scheme "${url.protocol.replace(':', '')}"` };
  }
  if (!url.hostname) return { problem: 'names no host' };
  const tlsParam = url.searchParams.get('tls');
  if (tlsParam !== null && tlsParam !== 'none' && tlsParam !== 'required') {
    return { problem: `has tls=${tlsParam}` };
  }
  const implicit = url.protocol === 'smtps:';
  if (implicit && tlsParam === 'none') return { problem: 'combines smtps:// with tls=none' };
  const tls: SmarthostTls = implicit ? 'implicit' : tlsParam === 'none' ? 'none' : 'starttls';
  const port = url.port ? Number(url.port) : implicit ? 465 : 587;
  const user = decodeURIComponent(url.username);
  const target: SmarthostTarget = { host: url.hostname.replace(/^\[|\]$/g, ''), port, tls };
  if (user) target.auth = { user, pass: decodeURIComponent(url.password) };
  return target;
}

/** The URL as it may appear in logs and banners: the secret is never printed. */
export function describeSmarthost(target: SmarthostTarget): string {
  const scheme = target.tls === 'implicit' ? 'smtps' : 'smtp';
  const user = target.auth ? `${target.auth.user}:***@` : '';
  const suffix = target.tls === 'none' ? '?tls=none' : '';
  return `${scheme}://${user}${target.host}:${target.port}${suffix}`;
}
