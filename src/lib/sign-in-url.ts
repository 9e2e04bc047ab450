import { isIPv4 } from 'node:net';

/**
 * Whether a browser can sign in at `url`. The console and portal session cookies are Secure,
 * and a browser keeps a Secure cookie only from a secure context: https://, or a loopback
 * host, which the W3C Secure Contexts spec (§3.1, "potentially trustworthy origin") counts as
 * one. Anywhere else over http:// the sign-in succeeds on the server and the browser drops the
 * cookie, so the operator sees the sign-in page again, with no error.
 */
export function insecureForSignIn(url: string | URL): boolean {
  const parsed = typeof url === 'string' ? (URL.canParse(url) ? new URL(url) : undefined) : url;
  return parsed?.protocol === 'http:' && !isLoopbackHost(parsed.hostname);
}

/** 127.0.0.0/8, ::1, `localhost` and names under it (RFC 6761 §6.3); a hostname as URL gives it (IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === 'localhost' || host.endsWith('.localhost');
}

/** The warning a start gives for a public URL where sign-in cannot work; undefined where it can. */
export function plainHttpSignInWarning(publicUrl: string): string | undefined {
  if (!insecureForSignIn(publicUrl)) return undefined;
  return (
    `the public URL ${publicUrl} is plain HTTP on a host that is not loopback: console and portal sign-in cannot work there, ` +
    'because their session cookies are Secure and browsers keep those only over HTTPS. ' +
    'Serve the HTTP port behind a TLS proxy and set RELAYGATE_HTTP_PUBLIC_URL (http.publicUrl) to its https:// URL'
  );
}
