import type { SMTPServerSession } from 'smtp-server';
import type { Credential, CredentialDirectory } from '../directory/credentials.js';
import { SmtpReply } from '../model/smtp-reply.js';
import type { ClientCertificate } from './client-certificate.js';

/** The certificate a principal proved itself with: the credential's name and the key's pin. */
export interface CertificateFacts {
  name: string;
  spkiSha256: string;
}

/** Who a transaction relays as; smtp-server keeps a SASL one as `session.user`. */
export interface Principal {
  credentialId: string;
  kind: Credential['kind'];
  domainId: string | null;
  domain: string | null;
  /** Set when a client certificate, not AUTH, established the credential. */
  certificate?: CertificateFacts | undefined;
}

/**
 * A transaction on the relay port of a session that did not AUTH, as its MAIL FROM left it:
 * the credentials its certificate stands for (the one it relays with is bound at the first
 * recipient it may relay to), or why it may relay nothing, answered at each RCPT.
 */
export type CertificateTransaction = { candidates: Principal[]; bound?: Principal | undefined } | { refusal: SmtpReply; detail: string };

/** What a relay-port session holds beside smtp-server's session: its certificate from STARTTLS, and its transaction. */
export interface RelaySession {
  certificate: ClientCertificate;
  transaction?: CertificateTransaction | undefined;
}

/**
 * Decides, at MAIL FROM, what a session's client certificate makes of its transaction.
 * Rejects only when the store cannot be read. A credential withdrawn since the certificate
 * last relayed comes back as the SmtpReply to MAIL FROM (421, as for AUTH sessions: the
 * organisation's server keeps the mail).
 */
export async function certificateTransaction(
  credentials: Pick<CredentialDirectory, 'identifyByCertificate'>,
  certificate: ClientCertificate | undefined,
  session: Pick<SMTPServerSession, 'remoteAddress'>,
  nowMs: number,
): Promise<CertificateTransaction | SmtpReply> {
  if (!certificate?.presented) return { refusal: SmtpReply.relayAuthenticationRequired(), detail: 'no client certificate and no AUTH' };
  if (!certificate.trusted) {
    const problem = certificate.problem ?? 'not verified';
    return { refusal: SmtpReply.clientCertificateRefused(`not trusted (${problem})`), detail: `certificate chain not verified: ${problem}` };
  }
  // OpenSSL checked the dates at the handshake; a session may outlive them.
  if (!(certificate.validToMs > nowMs))
    return { refusal: SmtpReply.clientCertificateRefused('it has expired'), detail: `certificate expired at ${new Date(certificate.validToMs).toISOString()}` };
  const outcome = await credentials.identifyByCertificate(certificate.peer, session.remoteAddress);
  if (!outcome.ok) {
    if (outcome.reason === 'withdrawn') return SmtpReply.relayCredentialWithdrawn(outcome.detail);
    const reason =
      outcome.reason === 'no-dns-name'
        ? 'it carries no DNS name (subjectAltName)'
        : outcome.reason === 'network-not-allowed'
          ? 'this client address is not in the allowed networks of its credential'
          : `no inbound credential names ${certificate.dnsNames.join(', ') || 'its names'}`;
    return { refusal: SmtpReply.clientCertificateRefused(reason), detail: outcome.detail };
  }
  const facts = (name: string | null) => ({ name: name ?? '', spkiSha256: certificate.spkiSha256 });
  return {
    candidates: outcome.credentials.map((c) => ({
      credentialId: c.id,
      kind: c.kind,
      domainId: c.domainId,
      domain: c.domain,
      certificate: facts(c.tlsClientName),
    })),
  };
}
