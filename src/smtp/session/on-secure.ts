import type { TLSSocket } from 'node:tls';
import type { SMTPServerSession } from 'smtp-server';
import { clientCertificateOf } from '../client-certificate.js';
import type { SessionState } from './session-state.js';

/** Relay port only: the client certificate of the STARTTLS handshake, kept for MAIL FROM (on-mail-from.ts judges it). */
export function onSecure(state: SessionState) {
  const { log } = state.deps;
  return (socket: TLSSocket, session: SMTPServerSession): void => {
    if (!state.relay) return;
    const certificate = clientCertificateOf(socket);
    state.relaySessions.set(session, { certificate });
    const facts = certificate.presented
      ? { names: certificate.dnsNames, trusted: certificate.trusted, problem: certificate.problem, spkiSha256: certificate.spkiSha256 }
      : { presented: false };
    log.debug({ session: session.id, ip: session.remoteAddress, clientCertificate: facts }, 'relay port: tls established');
  };
}
