import type { Logger } from 'pino';
import type { CredentialDirectory } from '../directory/credentials.js';
import type { SmtpReply } from '../model/smtp-reply.js';
import type { AcceptContext } from '../pipeline/accept.js';
import type { InboundDeps } from '../pipeline/routes/inbound.js';
import type { SubmissionDeps } from '../pipeline/routes/plain.js';
import type { SecureDeps } from '../pipeline/routes/secure.js';
import type { RouteTables } from '../policy/route-policy.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { UserLock } from './auth-user-lock.js';
import { onAuth } from './session/on-auth.js';
import { onData } from './session/on-data.js';
import { onMailFrom } from './session/on-mail-from.js';
import { onRcptTo } from './session/on-rcpt-to.js';
import { onSecure } from './session/on-secure.js';
import { sessionState } from './session/session-state.js';
import type { SessionDirectory } from './session-directory.js';

export interface SessionDeps {
  credentials: CredentialDirectory;
  /** A submission routed `relay`. */
  accept: AcceptContext & SubmissionDeps;
  /** Mail from a sender routed `secure`: encrypted on arrival, then notified or delivered directly. */
  acceptSecure: AcceptContext & SecureDeps;
  acceptInbound: AcceptContext & InboundDeps;
  /** What a submission's route is decided with, at MAIL FROM and again at DATA. */
  routes: RouteTables;
  /** For the inbound recipient and connector-state checks. */
  directory: SessionDirectory;
  /** Mail from clients that did not authenticate, to known addresses only (inbound.allowUnauthenticated). */
  allowUnauthenticated: boolean;
  /** Failed AUTHs per client address; shared by the instances on PostgreSQL (authThrottle). */
  throttleByIp: AuthThrottle;
  /** Failed AUTHs per user name, which spare known sources and count apart outside allowed networks (auth-user-lock.ts). */
  userLock: UserLock;
  /** Who a submission may claim to be, in the envelope (MAIL FROM) and the header From. */
  senderPolicy: SenderPolicy;
  log: Logger;
  /** Called after each commit, so the delivery worker starts at once. */
  onQueued(queueId: string): void;
  /** Why no message can be stored now (free space below health.minFreeDisk), or undefined; cheap enough for every MAIL FROM. */
  storageShortage(): Promise<string | undefined>;
  /** Why no message can be accepted now: the store's sync failed and it has not been proven durable since (store/durability.ts); undefined while it is durable. */
  storeNotDurable(): string | undefined;
  /** Told what each AUTH and transaction came to, for the metrics. */
  observe?: SmtpObserver | undefined;
}

/** Where a transaction was refused: the command that got the refusal, or `connect` for a connection turned away. */
export type RefusalStage = 'connect' | 'mail_from' | 'rcpt_to' | 'data';

/** What the session handlers report; every value is from a small closed set (see http/metrics.ts). */
export interface SmtpObserver {
  /** `result` is `success`, a LoginRefusal, `authzid-refused`, `throttled` or `error`. */
  auth(mechanism: string, result: string): void;
  accepted(direction: 'outbound' | 'inbound' | 'secure'): void;
  refused(stage: RefusalStage, reply: SmtpReply): void;
}

/**
 * The smtp-server hooks of a listener, one file per verb in session/. On the relay port
 * (`relay`) only inbound credentials relay: by AUTH as on submission, or by the client
 * certificate of the STARTTLS handshake, which is judged at each MAIL FROM (so a revocation
 * applies to the next transaction) and bound to one credential at the first recipient it may
 * relay to. Everything else is refused at RCPT, never relayed.
 */
export function sessionHandlers(deps: SessionDeps, listener: { relay: boolean } = { relay: false }) {
  const state = sessionState(deps, listener);
  return { onSecure: onSecure(state), onAuth: onAuth(state), onMailFrom: onMailFrom(state), onRcptTo: onRcptTo(state), onData: onData(state) };
}
