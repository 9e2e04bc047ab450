import type { TLSSocket } from 'node:tls';

/** What the TLS step of a connection test shows: the negotiated parameters and whether we trust the peer. */
export interface TlsReport {
  protocol: string | null;
  cipher: string | null;
  /** The chain leads to a trusted CA and the certificate names the host (RFC 6125). */
  verified: boolean;
  /** OpenSSL's or Node's reason when not verified, e.g. SELF_SIGNED_CERT_IN_CHAIN, ERR_TLS_CERT_ALTNAME_INVALID. */
  verifyError: string | null;
  subject: string | null;
  issuer: string | null;
  validTo: string | null;
  fingerprint256: string | null;
}

/** Read on a socket connected with rejectUnauthorized: false, where Node still records the verification result. */
export function tlsReport(socket: TLSSocket): TlsReport {
  const cert = socket.getPeerCertificate();
  const present = Object.keys(cert).length > 0;
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.name ?? null,
    verified: socket.authorized,
    // Node sets it to the error code (a string) despite the declared type.
    verifyError: socket.authorized ? null : String(socket.authorizationError ?? 'the certificate was not verified'),
    subject: present ? commonName(cert.subject) : null,
    issuer: present ? commonName(cert.issuer) : null,
    validTo: present && cert.valid_to ? new Date(cert.valid_to).toISOString() : null,
    fingerprint256: present ? cert.fingerprint256 : null,
  };
}

export function describeTls(report: TlsReport): string {
  const who = report.subject ? `certificate CN=${report.subject} issued by CN=${report.issuer ?? '?'}, valid to ${report.validTo ?? '?'}` : 'no certificate';
  const verdict = report.verified ? 'verified' : `NOT trusted (${report.verifyError})`;
  return `${report.protocol ?? '?'} ${report.cipher ?? '?'}; ${who}: ${verdict}`;
}

function commonName(name: unknown): string | null {
  const cn: unknown = typeof name === 'object' && name !== null ? Reflect.get(name, 'CN') : undefined;
  if (typeof cn === 'string') return cn;
  return Array.isArray(cn) && typeof cn[0] === 'string' ? cn[0] : null;
}
