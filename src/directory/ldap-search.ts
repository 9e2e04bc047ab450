import tls from 'node:tls';
import { DirectoryError } from '../model/directory-error.js';
import { type LdapEntry, type LdapMapping, requestedAttributes } from './ldap-mapping.js';

/** Where and how to read a directory: everything a pull needs, secrets opened. */
export interface LdapTarget {
  url: string;
  baseDn: string;
  filter: string;
  bindDn: string | null;
  bindPassword: string | null;
  /** PEM trusted beside Node's default roots; undefined: the default roots alone. */
  caCert: string | null;
  /** Google's Secure LDAP authenticates the client by certificate. */
  clientCert: { cert: string; key: string } | null;
  mapping: LdapMapping;
}

/** A directory that could not be read, naming the flag at fault (`field`) and the fix. */
export class LdapPullError extends DirectoryError {
  constructor(message: string, flag: string) {
    super('invalid', message, flag);
    this.name = 'LdapPullError';
  }
}

const PAGE_SIZE = 500;
const TIMEOUT_MS = 30_000;

/**
 * Reads every entry the filter matches under the base, in pages (RFC 2696: servers cap an
 * unpaged search, OpenLDAP at 500 and AD at 1000 entries, and a capped answer read as the
 * whole directory would remove everyone past the cap). Anything short of a complete answer
 * throws: a pull never works from part of a directory.
 */
export async function searchDirectory(target: LdapTarget): Promise<LdapEntry[]> {
  const url = checkUrl(target.url);
  const { Client } = await import('ldapts');
  const secure = secureOptions(target, url);
  // ldapts dials TLS straight away whenever tlsOptions are given, even for ldap://, where the
  // server then answers the ClientHello by hanging up: for StartTLS they go to startTLS() only.
  const client = new Client({
    url: target.url,
    timeout: TIMEOUT_MS,
    connectTimeout: TIMEOUT_MS,
    ...(url.protocol === 'ldaps:' ? { tlsOptions: secure } : {}),
  });
  try {
    if (url.protocol === 'ldap:') await step(() => client.startTLS(secure), 'starttls', target);
    if (target.bindDn !== null) await step(() => client.bind(target.bindDn ?? '', target.bindPassword ?? ''), 'bind', target);
    const { attributes, binary } = requestedAttributes(target.mapping);
    const entries: LdapEntry[] = [];
    const pages = client.searchPaginated(target.baseDn, {
      scope: 'sub',
      filter: target.filter,
      attributes,
      explicitBufferAttributes: binary,
      paged: { pageSize: PAGE_SIZE },
    });
    await step(
      async () => {
        for await (const page of pages) entries.push(...(page.searchEntries as LdapEntry[]));
      },
      'search',
      target,
    );
    return entries;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LdapPullError(`"${text}" is not an LDAP URL: give ldaps://ldap.example.com (port 636) or ldap://ldap.example.com (StartTLS)`, '--ldap');
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:')
    throw new LdapPullError(`"${text}" is not an LDAP URL: it must start ldaps:// (TLS from the start) or ldap:// (upgraded with StartTLS)`, '--ldap');
  if (url.pathname !== '' && url.pathname !== '/')
    throw new LdapPullError(`"${text}" has a path: give the base DN with --base, the URL is only ldaps://HOST[:PORT]`, '--ldap');
  return url;
}

function secureOptions(target: LdapTarget, url: URL): tls.ConnectionOptions {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    ...(target.caCert ? { ca: [...defaultRoots(), target.caCert] } : {}),
    ...(target.clientCert ? { cert: target.clientCert.cert, key: target.clientCert.key } : {}),
    // Sent as SNI only for a name; an IP address is checked against the certificate's IP SAN.
    ...(/^[\d.]+$|:/.test(host) ? { host } : { host, servername: host }),
    minVersion: 'TLSv1.2',
  };
}

/** Giving `ca` replaces Node's default store: the public roots stay trusted beside the given CA. */
function defaultRoots(): readonly string[] {
  const getCACertificates: unknown = Reflect.get(tls, 'getCACertificates');
  if (typeof getCACertificates === 'function') {
    const certificates: unknown = getCACertificates.call(tls, 'default');
    if (Array.isArray(certificates)) return certificates.filter((c): c is string => typeof c === 'string');
  }
  return tls.rootCertificates;
}

type Step = 'starttls' | 'bind' | 'search';

async function step<T>(work: () => Promise<T>, at: Step, target: LdapTarget): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw explain(err as Error & { code?: string | number }, at, target);
  }
}

/** One sentence per way a directory can refuse, each naming the flag to change. */
function explain(err: Error & { code?: string | number }, at: Step, target: LdapTarget): LdapPullError {
  const name = err.constructor?.name ?? '';
  const code = typeof err.code === 'string' ? err.code : '';
  if (tlsFailure(err))
    return new LdapPullError(
      `TLS with ${target.url} failed: ${err.message}; give the CA that signed the directory's certificate with --ca FILE (and check the host name in --ldap matches the certificate); a server that demands a client certificate, as Google's Secure LDAP does, needs --client-cert and --client-key`,
      '--ca',
    );
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code) || /timeout/i.test(err.message))
    return new LdapPullError(
      `cannot reach ${target.url} (${code || err.message}): check the host and port in --ldap and that the gateway may connect to it`,
      '--ldap',
    );
  // TLS 1.3 finishes the client's side of the handshake before the server has checked the
  // client's certificate: a server that demands one hangs up at the first request instead.
  if (/connection closed before message response/i.test(err.message))
    return new LdapPullError(
      `${target.url} closed the connection at the first request: a server that demands a client certificate (as Google's Secure LDAP does) refuses a client without one, or one it does not trust; give --client-cert and --client-key`,
      '--client-cert',
    );
  if (at === 'starttls')
    return new LdapPullError(
      `${target.url} refused StartTLS (${err.message}): the gateway never sends a password or reads the directory unencrypted; enable TLS on the server or use ldaps://`,
      '--ldap',
    );
  if (at === 'bind') {
    if (name === 'InvalidCredentialsError')
      return new LdapPullError(
        `the directory refused the bind as ${target.bindDn}: wrong --bind-dn or password (give it again with --bind-password-stdin)`,
        '--bind-dn',
      );
    return new LdapPullError(`the bind as ${target.bindDn} failed: ${err.message}`, '--bind-dn');
  }
  if (name === 'NoSuchObjectError')
    return new LdapPullError(`the base DN "${target.baseDn}" does not exist in the directory: check --base (e.g. ou=people,dc=example,dc=com)`, '--base');
  if (name === 'InvalidDNSyntaxError')
    return new LdapPullError(`"${target.baseDn}" is not a DN: --base takes one such as ou=people,dc=example,dc=com`, '--base');
  if (/filter/i.test(err.message) || name === 'ProtocolError')
    return new LdapPullError(
      `the filter "${target.filter}" is not valid LDAP (${err.message}): --filter takes RFC 4515 syntax such as (objectClass=inetOrgPerson)`,
      '--filter',
    );
  if (name === 'InsufficientAccessError' || name === 'StrongAuthRequiredError')
    return new LdapPullError(`the directory refused the search (${err.message}): give --bind-dn an account that may read the users under --base`, '--bind-dn');
  if (name === 'SizeLimitExceededError' || name === 'AdminLimitExceededError')
    return new LdapPullError(
      `the directory cut the answer short (${err.message}): nothing was changed; narrow --filter or --base, or raise the server's limit for the bind account`,
      '--filter',
    );
  return new LdapPullError(`reading ${target.url} failed at ${at}: ${err.message}`, '--ldap');
}

function tlsFailure(err: Error & { code?: string | number }): boolean {
  const code = typeof err.code === 'string' ? err.code : '';
  return /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME/.test(code) || /certificate|secure TLS connection|handshake|alert/i.test(err.message);
}
