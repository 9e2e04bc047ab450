import type { SMTPServerSession } from 'smtp-server';
import type { SmtpReply } from '../../model/smtp-reply.js';
import type { InboundSender } from '../../policy/inbound-relay.js';
import type { RouteClass } from '../../policy/route-policy.js';
import type { CertificateTransaction, Principal, RelaySession } from '../relay-identity.js';
import type { RefusalStage, SessionDeps } from '../session-handlers.js';

export type Callback<T = void> = (err?: Error | null, result?: T) => void;

/** What the verb handlers of one listener share: its deps, whether it is the relay port, and what each session holds beside smtp-server's. */
export interface SessionState {
  deps: SessionDeps;
  relay: boolean;
  /** Relay port only: smtp-server reuses one session object for a connection's life. */
  relaySessions: WeakMap<SMTPServerSession, RelaySession>;
  /** The route MAIL FROM classified this transaction with (checked again at DATA, see on-data.ts). */
  transactionRoutes: WeakMap<SMTPServerSession, { transaction: number; route: RouteClass }>;
}

export function sessionState(deps: SessionDeps, listener: { relay: boolean }): SessionState {
  return { deps, relay: listener.relay, relaySessions: new WeakMap(), transactionRoutes: new WeakMap() };
}

// smtp-server leaves `user` false (not undefined) on a session that has not authenticated.
export const saslPrincipalOf = (session: SMTPServerSession): Principal | null => (session.user ? (session.user as Principal) : null);

export const certificateTransactionOf = (state: SessionState, session: SMTPServerSession): CertificateTransaction | undefined =>
  state.relaySessions.get(session)?.transaction;

/** The SASL identity, or on the relay port the credential this transaction's certificate is bound to. */
export function principalOf(state: SessionState, session: SMTPServerSession): Principal | null {
  const sasl = saslPrincipalOf(session);
  if (sasl || !state.relay) return sasl;
  const transaction = certificateTransactionOf(state, session);
  return transaction && 'candidates' in transaction ? (transaction.bound ?? null) : null;
}

/** The route MAIL FROM gave this transaction, if it classified it. */
export function carriedRoute(state: SessionState, session: SMTPServerSession): RouteClass | undefined {
  const carried = state.transactionRoutes.get(session);
  return carried?.transaction === session.transaction ? carried.route : undefined;
}

/** Answers a command with a refusal, counted by stage and reply. */
export function refuse<T>(state: SessionState, stage: RefusalStage, reply: SmtpReply, callback: Callback<T>): void {
  state.deps.observe?.refused(stage, reply);
  callback(reply);
}

export function inboundSenderOf(principal: Principal | null): InboundSender | undefined {
  if (principal === null) return { kind: 'unauthenticated' };
  if (principal.kind === 'inbound' && principal.domainId && principal.domain)
    return { kind: 'inbound-credential', domainId: principal.domainId, domain: principal.domain };
  return undefined;
}
