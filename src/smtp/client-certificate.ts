import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/**
 * What a client showed of itself in the TLS handshake of the relay port. The chain was
 * checked by OpenSSL against inbound.clientCa (or the system store), expiry included, while
 * the handshake ran (smtp-server's verifyPeerCertificate): `trusted` is its verdict, and
 * `problem` OpenSSL's reason when it is false (CERT_HAS_EXPIRED, UNABLE_TO_GET_ISSUER_CERT…).
 */
export type ClientCertificate =
  | { presented: false }
  | {
      presented: true;
      trusted: boolean;
      problem: string | null;
      /** The SAN DNS names, for the log and the refusal; matching uses `peer` (RFC 6125, tls.checkServerIdentity). */
      dnsNames: string[];
      /** SHA-256 of the SubjectPublicKeyInfo, base64 (the pin-sha256 of RFC 7469 §2.4): survives a renewal with the same key. */
      spkiSha256: string;
      /** Epoch ms after which the certificate is no longer valid: a long session outlives it. */
      validToMs: number;
      peer: DetailedPeerCertificate;
    };

/** Read once the handshake is done (onSecure); a client that sent no certificate gets `presented: false`. */
export function clientCertificateOf(socket: TLSSocket): ClientCertificate {
  const peer = socket.getPeerCertificate(true);
  if (!peer || Object.keys(peer).length === 0 || !peer.raw) return { presented: false };
  return {
    presented: true,
    trusted: socket.authorized,
    problem: socket.authorized ? null : String(socket.authorizationError ?? 'not verified'),
    dnsNames: dnsNamesOf(peer.subjectaltname),
    spkiSha256: spkiSha256(peer.raw),
    validToMs: Date.parse(peer.valid_to),
    peer,
  };
}

function spkiSha256(der: Buffer): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}
