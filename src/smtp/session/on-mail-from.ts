import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { SmtpReply } from '../../model/smtp-reply.js';
import { classify } from '../../policy/route-policy.js';
import { certificateTransaction, type Principal } from '../relay-identity.js';
import { type Callback, refuse, type SessionState, saslPrincipalOf } from './session-state.js';

/**
 * MAIL FROM: whether a message can be stored now, then who may send it: a submission's
 * envelope sender and its route (classified here, carried to DATA), its hourly allowance;
 * an inbound credential's state; on the relay port, what the client certificate stands for.
 */
export function onMailFrom(state: SessionState) {
  const { deps } = state;
  const { log } = deps;
  const observe = deps.observe;

  /**
   * A relay-port session without AUTH: what its certificate makes of this transaction, kept for
   * RCPT. Only a credential withdrawn since is answered here (421); every other refusal waits
   * for RCPT, where the client hears why it may relay nothing.
   */
  async function identifyByCertificate(session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const relaySession = state.relaySessions.get(session);
    const decided = await certificateTransaction(deps.credentials, relaySession?.certificate, session, deps.accept.clock.now());
    const line = { session: session.id, ip: session.remoteAddress, mechanism: 'certificate' };
    if (decided instanceof SmtpReply) {
      state.relaySessions.set(session, { certificate: relaySession?.certificate ?? { presented: false }, transaction: undefined });
      log.warn({ ...line, reason: decided.cause }, 'relay refused: the credentials of this certificate are withdrawn');
      observe?.auth('EXTERNAL', 'revoked');
      return decided;
    }
    state.relaySessions.set(session, { certificate: relaySession?.certificate ?? { presented: false }, transaction: decided });
    if ('refusal' in decided) {
      log.warn({ ...line, reason: decided.detail }, 'relay port: no credential established');
      if (relaySession?.certificate.presented) observe?.auth('EXTERNAL', 'refused');
    } else {
      log.info({ ...line, credentialIds: decided.candidates.map((c) => c.credentialId) }, 'client certificate ok');
      observe?.auth('EXTERNAL', 'success');
    }
    return undefined;
  }

  /** The submission's route, carried on the session for DATA; `reject` is refused here (RFC 5321 §3.3: before the body is sent). */
  async function routeObjection(session: SMTPServerSession, principal: Principal, mailFrom: string): Promise<SmtpReply | undefined> {
    const route = await classify(deps.routes, principal, mailFrom);
    state.transactionRoutes.set(session, { transaction: session.transaction, route });
    return route.kind === 'reject' ? route.refusal : undefined;
  }

  /**
   * Checked after the sender, so that a refused sender does not use up the credential's
   * hourly allowance. A count that cannot be kept rejects, and the sender gets 451 4.3.0
   * (try later) rather than a pass without a limit.
   */
  async function overRate(credentialId: string): Promise<SmtpReply | undefined> {
    const admitted = await deps.credentials.admitMessage(credentialId);
    return admitted.ok ? undefined : SmtpReply.messageRateExceeded(admitted.limitPerHour);
  }

  return (address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void => {
    const principal = saslPrincipalOf(session);
    const credentialId = principal?.credentialId ?? null;
    const answer = (refusal: SmtpReply | null | undefined, err?: unknown): void => {
      if (!refusal) return callback(null);
      // A transaction refused at MAIL FROM ends here: this is its one log line.
      const line = { event: 'smtp.transaction', outcome: 'refused', stage: 'mail_from', session: session.id, ip: session.remoteAddress, credentialId };
      if (err === undefined) log.info({ ...line, mailFrom: address.address, reply: refusal.toString(), reason: refusal.cause }, 'sender refused');
      else log.error({ ...line, mailFrom: address.address, reply: refusal.toString(), err }, 'sender not checked: local error');
      refuse(state, 'mail_from', refusal, callback);
    };
    const failed = (err: unknown) => answer(SmtpReply.forLocalFailure(err), err);
    const checkSender = (): void => {
      if (state.relay && principal === null) {
        if (!session.secure) return answer(SmtpReply.mustStartTls());
        identifyByCertificate(session).then(answer, failed);
        return;
      }
      if (principal === null) {
        // Only reachable when unauthenticated inbound is allowed (smtp-server's authOptional); still TLS first.
        return answer(session.secure ? null : SmtpReply.mustStartTls());
      }
      // Refused at RCPT (relayPortNotForSubmission): no sender check or rate count for mail that will not go.
      if (state.relay && principal.kind === 'submission') return answer(null);
      if (principal.kind === 'inbound') {
        // The envelope sender is whoever wrote to the organisation; what matters is the recipient (onRcptTo).
        deps.directory.inboundCredentialObjection(principal.credentialId, deps.accept.clock.now()).then(answer, failed);
        return;
      }
      deps.senderPolicy
        .checkMailFrom(principal.credentialId, address.address)
        .then((objection) => objection ?? routeObjection(session, principal, address.address))
        .then((objection) => objection ?? overRate(principal.credentialId))
        .then(answer, failed);
    };
    // Known before the body is sent: a commit now could not be promised, so the client keeps the message (RFC 5321 §4.3.2 allows 451 to MAIL).
    const notDurable = deps.storeNotDurable();
    if (notDurable !== undefined) return answer(SmtpReply.storeNotDurable(notDurable));
    // RFC 5321 §4.5.3.1.10: refused before the client sends a message there is no room to store.
    deps.storageShortage().then((shortage) => (shortage === undefined ? checkSender() : answer(SmtpReply.insufficientStorage(shortage))), failed);
  };
}
