import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { SmtpReply } from '../../model/smtp-reply.js';
import { inboundRecipientObjection } from '../../policy/inbound-relay.js';
import { type Callback, certificateTransactionOf, inboundSenderOf, refuse, type SessionState, saslPrincipalOf } from './session-state.js';

/**
 * RCPT TO: a submission relays to anyone; inbound mail only to the organisation's known
 * addresses. On the relay port, a submission credential is refused here, and a session
 * without AUTH relays as the certificate credential that may take the recipient.
 */
export function onRcptTo(state: SessionState) {
  const { deps } = state;
  const { log } = deps;

  async function rcptObjection(address: string, session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const sasl = saslPrincipalOf(session);
    if (state.relay && sasl?.kind === 'submission') return SmtpReply.relayPortNotForSubmission();
    if (state.relay && !sasl) return certificateRcptObjection(address, session);
    const sender = inboundSenderOf(sasl);
    if (!sender) return undefined;
    return inboundRecipientObjection(sender, address, await deps.directory.lookUpInboundRecipient(address));
  }

  /**
   * The relay port without AUTH: the transaction relays as the first of its certificate's
   * credentials that may take this recipient, and keeps to that credential's domain after.
   */
  async function certificateRcptObjection(address: string, session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const transaction = certificateTransactionOf(state, session);
    if (!transaction) return SmtpReply.relayAuthenticationRequired();
    if ('refusal' in transaction) return transaction.refusal;
    const recipient = await deps.directory.lookUpInboundRecipient(address);
    const domainId = recipient.kind === 'foreign' ? null : recipient.domainId;
    const { bound, candidates } = transaction;
    if (bound && bound.domainId !== domainId && candidates.some((c) => c.domainId === domainId)) return SmtpReply.oneDomainPerTransaction(bound.domain ?? '');
    const principal = bound ?? candidates.find((c) => c.domainId === domainId) ?? candidates[0];
    const sender = inboundSenderOf(principal ?? null);
    if (!principal || !sender || sender.kind !== 'inbound-credential') return SmtpReply.relayAuthenticationRequired();
    const objection = inboundRecipientObjection(sender, address, recipient);
    if (!objection && !bound) {
      transaction.bound = principal;
      deps.credentials.recordUse(principal.credentialId, session.remoteAddress);
      log.info(
        { session: session.id, ip: session.remoteAddress, credentialId: principal.credentialId, certificate: principal.certificate },
        'relaying as certificate credential',
      );
    }
    return objection;
  }

  return (address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void => {
    rcptObjection(address.address, session).then(
      (objection) => {
        if (!objection) return callback(null);
        log.info({ session: session.id, rcpt: address.address, reply: objection.toString(), reason: objection.cause }, 'inbound recipient refused');
        refuse(state, 'rcpt_to', objection, callback);
      },
      (err: unknown) => {
        log.error({ session: session.id, rcpt: address.address, err }, 'recipient not checked: local error');
        refuse(state, 'rcpt_to', SmtpReply.forLocalFailure(err), callback);
      },
    );
  };
}
