import { createPrivateKey, X509Certificate } from 'node:crypto';
import { invalid } from '../model/directory-error.js';

export const AUTH_KINDS = ['password', 'xoauth2', 'oauthbearer'] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

/** The OAuth 2.0 client of a connection as shown: never its secret. */
export interface OAuth2View {
  tokenUrl: string;
  clientId: string;
  scope: string | null;
}

/** The client certificate of a connection as shown: never its key. */
export interface ClientCertView {
  subject: string;
  subjectAltName: string | null;
  issuer: string;
  validTo: string;
  fingerprint256: string;
}

/** How a connection authenticates, as stored: null authKind is SMTP AUTH with the secret as password. */
export interface AuthFields {
  authKind: 'xoauth2' | 'oauthbearer' | null;
  oauth2TokenUrl: string | null;
  oauth2ClientId: string | null;
  oauth2Scope: string | null;
}

export interface AuthInput {
  auth?: string | undefined;
  oauth2TokenUrl?: string | null | undefined;
  oauth2ClientId?: string | null | undefined;
  oauth2Scope?: string | null | undefined;
}

/**
 * OAuth 2.0 client-credentials settings: all three of token URL and client id (scope optional)
 * with xoauth2 / oauthbearer, none of them with a password. The token URL must be https: the
 * client secret travels in its body (RFC 6749 §2.3.1 requires TLS there).
 */
export function checkAuthFields(input: AuthInput, hasUsername: boolean): AuthFields {
  const kind = input.auth ?? 'password';
  if (!(AUTH_KINDS as readonly string[]).includes(kind)) throw invalid('auth', `auth must be password, xoauth2 or oauthbearer, not "${kind}"`);
  const tokenUrl = input.oauth2TokenUrl?.trim() || null;
  const clientId = input.oauth2ClientId?.trim() || null;
  const scope = input.oauth2Scope?.trim() || null;
  if (kind === 'password') {
    const given = tokenUrl ? 'oauth2TokenUrl' : clientId ? 'oauth2ClientId' : scope ? 'oauth2Scope' : null;
    if (given) throw invalid(given, `${given} applies only with auth xoauth2 or oauthbearer`);
    return { authKind: null, oauth2TokenUrl: null, oauth2ClientId: null, oauth2Scope: null };
  }
  if (!hasUsername) throw invalid('username', `auth ${kind} needs the mailbox the token acts for as username (user= in the SASL exchange)`);
  if (!tokenUrl) throw invalid('oauth2TokenUrl', `auth ${kind} needs the token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`);
  checkTokenUrl(tokenUrl);
  if (!clientId) throw invalid('oauth2ClientId', `auth ${kind} needs the OAuth 2.0 client id (application id)`);
  if (clientId.length > 255) throw invalid('oauth2ClientId', 'oauth2ClientId must be at most 255 characters');
  if (scope !== null && scope.length > 1024) throw invalid('oauth2Scope', 'oauth2Scope must be at most 1024 characters');
  return { authKind: kind as 'xoauth2' | 'oauthbearer', oauth2TokenUrl: tokenUrl, oauth2ClientId: clientId, oauth2Scope: scope };
}

function checkTokenUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('oauth2TokenUrl', `"${text}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw invalid('oauth2TokenUrl', 'oauth2TokenUrl must be https: the client secret is sent to it');
  if (url.username || url.password) throw invalid('oauth2TokenUrl', 'oauth2TokenUrl must not carry credentials; give the client secret with --secret-stdin');
  if (text.length > 2048) throw invalid('oauth2TokenUrl', 'oauth2TokenUrl must be at most 2048 characters');
}

/**
 * A PEM chain (leaf first) and its private key: both parse, the key belongs to the leaf, the
 * leaf is valid now and may authenticate a TLS client. Returns the normalised key PEM to seal.
 */
export function checkClientCert(certPem: string, keyPem: string, now: number): { cert: string; key: string } {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw invalid('clientCert', `clientCert is not a PEM certificate (${(err as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw invalid(
      'clientKey',
      `clientKey is not an unencrypted PEM private key (${(err as Error).message}); decrypt it first: openssl pkey -in key.pem -out plain.pem`,
    );
  }
  if (!leaf.checkPrivateKey(key)) throw invalid('clientKey', `clientKey does not belong to the certificate ${leaf.subject.replace(/\n/g, ', ')}`);
  if (Date.parse(leaf.validTo) <= now) throw invalid('clientCert', `clientCert expired on ${leaf.validTo}; renew it first`);
  if (leaf.keyUsage !== undefined && !leaf.keyUsage.includes('1.3.6.1.5.5.7.3.2')) {
    throw invalid('clientCert', 'clientCert has an extended key usage without TLS client authentication (clientAuth)');
  }
  return { cert: certPem.trim().concat('\n'), key: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function clientCertView(pem: string | null): ClientCertView | null {
  if (pem === null) return null;
  const leaf = new X509Certificate(pem);
  return {
    subject: leaf.subject.replace(/\n/g, ', '),
    subjectAltName: leaf.subjectAltName ?? null,
    issuer: leaf.issuer.replace(/\n/g, ', '),
    validTo: new Date(leaf.validTo).toISOString(),
    fingerprint256: leaf.fingerprint256,
  };
}

export function oauth2View(fields: AuthFields): OAuth2View | null {
  if (fields.authKind === null || fields.oauth2TokenUrl === null || fields.oauth2ClientId === null) return null;
  return { tokenUrl: fields.oauth2TokenUrl, clientId: fields.oauth2ClientId, scope: fields.oauth2Scope };
}
