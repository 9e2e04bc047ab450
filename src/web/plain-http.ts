import { isLoopbackHost } from '../lib/sign-in-url.js';

/** The request headers that say which URL the browser is on. */
export interface PageHeaders {
  host?: string | undefined;
  origin?: string | undefined;
  referer?: string | undefined;
  'x-forwarded-proto'?: string | string[] | undefined;
}

/**
 * Whether the browser shows this page as plain http:// at an address it does not treat as
 * local. Such a browser drops a `Secure` cookie (Chromium and Firefox since 2020, "Strict
 * Secure Cookies"), so a sign-in there can only start over. Loopback (127.0.0.0/8, ::1,
 * localhost) counts as a secure context and works.
 *
 * The listener itself never speaks TLS (a proxy does), so the scheme is taken from what the
 * browser said, most direct first: the Origin of a form post, the Referer of a page of this
 * host, a proxy's X-Forwarded-Proto, the public URL when it is this host; else the listener's
 * own plain HTTP. A false header only changes what its sender is told, never what is allowed.
 */
export function browserOnPlainHttp(headers: PageHeaders, publicUrl: string): boolean {
  const host = headers.host?.toLowerCase();
  if (!host) return false;
  const page = ownUrl(headers.origin, host) ?? ownUrl(headers.referer, host);
  const forwarded = [headers['x-forwarded-proto']].flat()[0]?.split(',')[0]?.trim().toLowerCase();
  const scheme = page?.protocol ?? (forwarded ? `${forwarded}:` : undefined) ?? publicSchemeFor(host, publicUrl) ?? 'http:';
  return scheme === 'http:' && !isLoopbackHost(hostnameOf(host));
}

function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return 'localhost';
  }
}

/** The URL in a header if it names this very host; a link from another site says nothing about this one. */
function ownUrl(value: string | undefined, host: string): URL | undefined {
  if (!value || value === 'null') return undefined;
  try {
    const url = new URL(value);
    return url.host === host ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A TLS proxy in front may listen on another port than this listener, so only the names are compared. */
function publicSchemeFor(host: string, publicUrl: string): string | undefined {
  if (!publicUrl) return undefined;
  try {
    const url = new URL(publicUrl);
    return url.hostname === hostnameOf(host) ? url.protocol : undefined;
  } catch {
    return undefined;
  }
}
