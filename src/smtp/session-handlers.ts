import { PassThrough, type Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Credential, CredentialDirectory } from '../directory/credentials.js';
import { inboundCredentialObjection, lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';
import { StoreNotDurable } from '../model/durability-failure.js';
import type { Envelope, EnvelopeRecipient } from '../model/envelope.js';
import { SmtpReply } from '../model/smtp-reply.js';
import { acceptInbound, type InboundAcceptance, type InboundAcceptContext } from '../pipeline/accept-inbound.js';
import { type AcceptContext, acceptMessage } from '../pipeline/accept-message.js';
import { acceptSecure, type SecureAcceptContext } from '../pipeline/accept-secure.js';
import { type InboundSender, inboundRecipientObjection } from '../policy/inbound-relay.js';
import { secureRoutingOf } from '../policy/route-policy.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { Db } from '../store/tables.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { AuthAttempt, UserLock } from './auth-user-lock.js';
import { clientCertificateOf } from './client-certificate.js';
import { type CertificateTransaction, certificateTransaction, type Principal, type RelaySession } from './relay-identity.js';

export interface SessionDeps {
  credentials: CredentialDirectory;
  accept: AcceptContext;
  /** Mail from a sender routed `secure`: encrypted on arrival, then notified or delivered directly. */
  acceptSecure: SecureAcceptContext;
  acceptInbound: InboundAcceptContext;
  /** For the inbound recipient and connector-state checks. */
  db: Db;
  /** Mail from clients that did not authenticate, to known addresses only (inbound.allowUnauthenticated). */
  allowUnauthenticated: boolean;
  /** Failed AUTHs per client address; shared by the instances on PostgreSQL (authThrottle). */
  throttleByIp: AuthThrottle;
  /** Failed AUTHs per user name, which spare known sources and count apart outside allowed networks (auth-user-lock.ts). */
  userLock: UserLock;
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

type Callback<T = void> = (err?: Error | null, result?: T) => void;

/** What a transaction came to, and which way the message goes (a secure sender's mail is `secure`). */
interface Accepted {
  outcome: InboundAcceptance;
  direction: 'outbound' | 'inbound' | 'secure';
}

// smtp-server leaves `user` false (not undefined) on a session that has not authenticated.
const saslPrincipalOf = (session: SMTPServerSession): Principal | null => (session.user ? (session.user as Principal) : null);

function inboundSenderOf(principal: Principal | null): InboundSender | undefined {
  if (principal === null) return { kind: 'unauthenticated' };
  if (principal.kind === 'inbound' && principal.domainId && principal.domain)
    return { kind: 'inbound-credential', domainId: principal.domainId, domain: principal.domain };
  return undefined;
}

/**
 * The smtp-server hooks of a listener. On the relay port (`relay`) only inbound credentials
 * relay: by AUTH as on submission, or by the client certificate of the STARTTLS handshake,
 * which is judged at each MAIL FROM (so a revocation applies to the next transaction) and
 * bound to one credential at the first recipient it may relay to. Everything else is refused
 * at RCPT, never relayed.
 */
export function sessionHandlers(deps: SessionDeps, listener: { relay: boolean } = { relay: false }) {
  const { log } = deps;
  const observe = deps.observe;
  /** Relay port only: smtp-server reuses one session object for a connection's life. */
  const relaySessions = new WeakMap<SMTPServerSession, RelaySession>();
  const certificateTransactionOf = (session: SMTPServerSession): CertificateTransaction | undefined => relaySessions.get(session)?.transaction;
  /** The SASL identity, or on the relay port the credential this transaction's certificate is bound to. */
  const principalOf = (session: SMTPServerSession): Principal | null => {
    const sasl = saslPrincipalOf(session);
    if (sasl || !listener.relay) return sasl;
    const transaction = certificateTransactionOf(session);
    return transaction && 'candidates' in transaction ? (transaction.bound ?? null) : null;
  };
  /** Answers a command with a refusal, counted by stage and reply. */
  const refuse = <T>(stage: RefusalStage, reply: SmtpReply, callback: Callback<T>): void => {
    observe?.refused(stage, reply);
    callback(reply);
  };

  function onSecure(socket: TLSSocket, session: SMTPServerSession): void {
    if (!listener.relay) return;
    const certificate = clientCertificateOf(socket);
    relaySessions.set(session, { certificate });
    const facts = certificate.presented
      ? { names: certificate.dnsNames, trusted: certificate.trusted, problem: certificate.problem, spkiSha256: certificate.spkiSha256 }
      : { presented: false };
    log.debug({ session: session.id, ip: session.remoteAddress, clientCertificate: facts }, 'relay port: tls established');
  }

  function onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: Callback<{ user: Principal }>): void {
    decideAuth(auth, session).then((decision) => (decision instanceof SmtpReply ? callback(decision) : callback(null, { user: decision })));
  }

  /** Never rejects: every outcome, a local error included, is a principal or a reply. */
  async function decideAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<Principal | SmtpReply> {
    const ip = session.remoteAddress;
    const username = auth.username ?? '';
    const facts = { ip, username, mechanism: auth.method, session: session.id };
    // smtp-server takes the authzid as the user name when the authcid is empty: then they are one identity.
    if (auth.method === 'PLAIN' && auth.authzid && auth.authzid !== username) {
      log.warn({ ...facts, authzid: auth.authzid }, 'auth refused: authorization identity differs from the authentication identity');
      observe?.auth(auth.method, 'authzid-refused');
      return SmtpReply.authorizationIdentityRefused();
    }
    let attempt: AuthAttempt;
    try {
      attempt = { username, ip, outsideAllowedNetworks: await deps.credentials.outsideAllowedNetworks(username, ip) };
      const locked = await lockedBy(attempt);
      if (locked) {
        log.warn({ ...facts, lockedBy: locked }, 'auth throttled');
        observe?.auth(auth.method, 'throttled');
        return SmtpReply.authThrottled();
      }
    } catch (err) {
      // Fails closed: without the count, a guesser would get unlimited attempts while the store is down.
      log.error({ ...facts, err }, 'auth refused for now: failed attempts could not be read');
      observe?.auth(auth.method, 'error');
      return SmtpReply.authUnavailable();
    }
    let outcome: Awaited<ReturnType<CredentialDirectory['verify']>>;
    try {
      outcome = await deps.credentials.verify(username, auth.password ?? '', ip);
    } catch (err) {
      log.error({ ...facts, err }, 'auth not decided: local error');
      observe?.auth(auth.method, 'error');
      return SmtpReply.forLocalFailure(err);
    }
    if (!outcome.ok) {
      log.warn({ ...facts, reason: outcome.reason, detail: outcome.detail }, 'auth failed');
      observe?.auth(auth.method, outcome.reason);
      // Counted before the reply, so that the client's next attempt already meets it.
      await Promise.all([deps.throttleByIp.recordFailure(ip), deps.userLock.recordFailure(attempt)]).catch((err: unknown) =>
        log.error({ ...facts, err }, 'failed auth not counted: local error'),
      );
      return SmtpReply.authFailed();
    }
    return authenticated(outcome.credential, attempt, facts);
  }

  /** Which lock refuses this attempt without checking its secret, if any. */
  async function lockedBy(attempt: AuthAttempt): Promise<'address' | 'user name' | undefined> {
    const [byIp, byUser] = await Promise.all([deps.throttleByIp.isBlocked(attempt.ip), deps.userLock.isLocked(attempt)]);
    return byIp ? 'address' : byUser ? 'user name' : undefined;
  }

  async function authenticated(credential: Credential, attempt: AuthAttempt, facts: Record<string, string>): Promise<Principal> {
    const line = { ip: attempt.ip, credentialId: credential.id, session: facts.session };
    // A rotated-out credential still works until its retire-at time; its use shows
    // in `credential show`, and here, so the operator can find the client still on it.
    if (credential.state === 'retiring') log.warn(line, 'auth ok with a credential being retired');
    else log.info(line, 'auth ok');
    observe?.auth(facts.mechanism ?? '', 'success');
    // Not remembering the source only leaves it exposed to the user-name lock, as before it authenticated.
    await deps.userLock.recordSuccess(attempt).catch((err: unknown) => log.error({ ...facts, err }, 'known auth source not recorded: local error'));
    return { credentialId: credential.id, kind: credential.kind, domainId: credential.domainId, domain: credential.domain };
  }

  function onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void {
    const principal = saslPrincipalOf(session);
    const credentialId = principal?.credentialId ?? null;
    const answer = (refusal: SmtpReply | null | undefined, err?: unknown): void => {
      if (!refusal) return callback(null);
      // A transaction refused at MAIL FROM ends here: this is its one log line.
      const line = { event: 'smtp.transaction', outcome: 'refused', stage: 'mail_from', session: session.id, ip: session.remoteAddress, credentialId };
      if (err === undefined) log.info({ ...line, mailFrom: address.address, reply: refusal.toString(), reason: refusal.cause }, 'sender refused');
      else log.error({ ...line, mailFrom: address.address, reply: refusal.toString(), err }, 'sender not checked: local error');
      refuse('mail_from', refusal, callback);
    };
    const failed = (err: unknown) => answer(SmtpReply.forLocalFailure(err), err);
    const checkSender = (): void => {
      if (listener.relay && principal === null) {
        if (!session.secure) return answer(SmtpReply.mustStartTls());
        identifyByCertificate(session).then(answer, failed);
        return;
      }
      if (principal === null) {
        // Only reachable when unauthenticated inbound is allowed (smtp-server's authOptional); still TLS first.
        return answer(session.secure ? null : SmtpReply.mustStartTls());
      }
      // Refused at RCPT (relayPortNotForSubmission): no sender check or rate count for mail that will not go.
      if (listener.relay && principal.kind === 'submission') return answer(null);
      if (principal.kind === 'inbound') {
        // The envelope sender is whoever wrote to the organisation; what matters is the recipient (onRcptTo).
        inboundCredentialObjection(deps.db, principal.credentialId, deps.accept.clock.now()).then(answer, failed);
        return;
      }
      deps.senderPolicy
        .checkMailFrom(principal.credentialId, address.address)
        .then((objection) => objection ?? overRate(principal.credentialId))
        .then(answer, failed);
    };
    // Known before the body is sent: a commit now could not be promised, so the client keeps the message (RFC 5321 §4.3.2 allows 451 to MAIL).
    const notDurable = deps.storeNotDurable();
    if (notDurable !== undefined) return answer(SmtpReply.storeNotDurable(notDurable));
    // RFC 5321 §4.5.3.1.10: refused before the client sends a message there is no room to store.
    deps.storageShortage().then((shortage) => (shortage === undefined ? checkSender() : answer(SmtpReply.insufficientStorage(shortage))), failed);
  }

  /**
   * A relay-port session without AUTH: what its certificate makes of this transaction, kept for
   * RCPT. Only a credential withdrawn since is answered here (421); every other refusal waits
   * for RCPT, where the client hears why it may relay nothing.
   */
  async function identifyByCertificate(session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const relaySession = relaySessions.get(session);
    const decided = await certificateTransaction(deps.credentials, relaySession?.certificate, session, deps.accept.clock.now());
    const line = { session: session.id, ip: session.remoteAddress, mechanism: 'certificate' };
    if (decided instanceof SmtpReply) {
      relaySessions.set(session, { certificate: relaySession?.certificate ?? { presented: false }, transaction: undefined });
      log.warn({ ...line, reason: decided.cause }, 'relay refused: the credentials of this certificate are withdrawn');
      observe?.auth('EXTERNAL', 'revoked');
      return decided;
    }
    relaySessions.set(session, { certificate: relaySession?.certificate ?? { presented: false }, transaction: decided });
    if ('refusal' in decided) {
      log.warn({ ...line, reason: decided.detail }, 'relay port: no credential established');
      if (relaySession?.certificate.presented) observe?.auth('EXTERNAL', 'refused');
    } else {
      log.info({ ...line, credentialIds: decided.candidates.map((c) => c.credentialId) }, 'client certificate ok');
      observe?.auth('EXTERNAL', 'success');
    }
    return undefined;
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

  function onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void {
    rcptObjection(address.address, session).then(
      (objection) => {
        if (!objection) return callback(null);
        log.info({ session: session.id, rcpt: address.address, reply: objection.toString(), reason: objection.cause }, 'inbound recipient refused');
        refuse('rcpt_to', objection, callback);
      },
      (err: unknown) => {
        log.error({ session: session.id, rcpt: address.address, err }, 'recipient not checked: local error');
        refuse('rcpt_to', SmtpReply.forLocalFailure(err), callback);
      },
    );
  }

  async function rcptObjection(address: string, session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const sasl = saslPrincipalOf(session);
    if (listener.relay && sasl?.kind === 'submission') return SmtpReply.relayPortNotForSubmission();
    if (listener.relay && !sasl) return certificateRcptObjection(address, session);
    const sender = inboundSenderOf(sasl);
    if (!sender) return undefined;
    return inboundRecipientObjection(sender, address, await lookUpInboundRecipient(deps.db, address));
  }

  /**
   * The relay port without AUTH: the transaction relays as the first of its certificate's
   * credentials that may take this recipient, and keeps to that credential's domain after.
   */
  async function certificateRcptObjection(address: string, session: SMTPServerSession): Promise<SmtpReply | undefined> {
    const transaction = certificateTransactionOf(session);
    if (!transaction) return SmtpReply.relayAuthenticationRequired();
    if ('refusal' in transaction) return transaction.refusal;
    const recipient = await lookUpInboundRecipient(deps.db, address);
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

  function onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: Callback<string>): void {
    // Our own stream in between: if we refuse the message early we stop reading it, but
    // smtp-server's stream must still be drained to the end-of-data mark before we reply.
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    stream.on('error', (err) => body.destroy(err));
    stream.pipe(body);
    const envelope = session.envelope;
    const principal = principalOf(session);
    const credentialId = principal?.credentialId ?? null;
    const draftEnvelope: Envelope = {
      mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
      recipients: envelope.rcptTo.map(toRecipient),
      envId: envelope.dsn?.envid ?? undefined,
      ret: envelope.dsn?.ret === 'FULL' || envelope.dsn?.ret === 'HDRS' ? envelope.dsn.ret : undefined,
      requireTls: envelope.requireTLS === true,
    };
    const draft = {
      envelope: draftEnvelope,
      session: {
        heloName: session.hostNameAppearsAs || 'unknown',
        clientIp: session.remoteAddress,
        tlsProtocol: session.tlsOptions ? session.tlsOptions.version : undefined,
        tlsCipher: session.tlsOptions ? session.tlsOptions.name : undefined,
        authenticated: principal !== null,
      },
      body,
    };
    const relay = relayFacts(principal, draft.session);
    const accepted: Promise<Accepted> =
      principal?.kind === 'submission'
        ? acceptSubmission(principal.credentialId, { ...draft, credentialId, relay })
        : acceptInbound(deps.acceptInbound, { ...draft, relay, smtpAuth: smtpAuthOf(principal) }).then((outcome) => ({
            outcome,
            direction: 'inbound' as const,
          }));
    // The one log line of a transaction that reached DATA: the size is read once the body is in.
    const line = () => ({
      event: 'smtp.transaction',
      session: session.id,
      ip: session.remoteAddress,
      credentialId,
      from: draftEnvelope.mailFrom,
      rcpt: envelope.rcptTo.length,
      sizeBytes: stream.byteLength,
    });
    accepted.then(
      ({ outcome, direction }) => {
        if (outcome.kind === 'verification') {
          // Over submission it is the organisation's server relaying with the application's
          // credential: answered 250 all the same, so that it neither retries nor bounces the
          // mail round the same wrong route; the inbound leg has failed with the reason.
          if (direction === 'inbound') log.info({ ...line(), outcome: 'verification' }, 'verification token received');
          else
            log.warn({ ...line(), outcome: 'verification', direction }, 'verification mail came back over a submission session: consumed, not relayed again');
          return callback(null, SmtpReply.delivered('verification received').message);
        }
        log.info({ ...line(), outcome: 'accepted', queueId: outcome.id, direction }, 'message accepted');
        observe?.accepted(direction);
        if (outcome.kind === 'delivered') return callback(null, SmtpReply.delivered(`delivered to the application as ${outcome.id}`).message);
        deps.onQueued(outcome.id);
        callback(null, SmtpReply.queued(outcome.id).message);
      },
      (err: unknown) => {
        // A write that ran out of space (disk full, file-size limit) is 452 4.3.1; the partial body is already discarded.
        const reply = err instanceof SmtpReply ? err : SmtpReply.forLocalFailure(err);
        stream.unpipe(body);
        drain(stream).then(() => {
          if ((err as NodeJS.ErrnoException).code === 'ECONNECTION')
            return log.info({ ...line(), outcome: 'aborted' }, 'client went away during DATA; nothing queued');
          if (err instanceof SmtpReply) log.info({ ...line(), outcome: 'refused', reply: reply.toString(), reason: reply.cause }, 'message refused');
          // The failed sync has its own error line (app/gateway.ts); each refusal it causes is a transaction like any other.
          else if (err instanceof StoreNotDurable)
            log.warn({ ...line(), outcome: 'refused', reply: reply.toString(), reason: err.message }, 'message refused: store not durable');
          else log.error({ ...line(), outcome: 'refused', reply: reply.toString(), err }, 'message not accepted: local error');
          refuse('data', reply, callback);
        });
      },
    );
  }

  async function acceptSubmission(credentialId: string, draft: Parameters<typeof acceptMessage>[1]): Promise<Accepted> {
    const secure = await secureRoutingOf(deps, credentialId, draft.envelope.mailFrom);
    if (secure) return { outcome: await acceptSecure(deps.acceptSecure, { ...draft, ...secure }), direction: 'secure' };
    return { outcome: await acceptMessage(deps.accept, draft), direction: 'outbound' };
  }

  return { onSecure, onAuth, onMailFrom, onRcptTo, onData };
}

function relayFacts(principal: Principal | null, session: { clientIp: string; tlsProtocol?: string | undefined; tlsCipher?: string | undefined }): RelayFacts {
  return {
    authenticated: principal !== null,
    credentialId: principal?.credentialId ?? null,
    domain: principal?.domain ?? null,
    clientIp: session.clientIp,
    tlsVersion: session.tlsProtocol ?? null,
    tlsCipher: session.tlsCipher ?? null,
    clientCertificate: principal?.certificate ?? null,
  };
}

function smtpAuthOf(principal: Principal | null) {
  return principal ? { credentialId: principal.credentialId, domain: principal.domain ?? '' } : null;
}

function toRecipient(rcpt: SMTPServerAddress): EnvelopeRecipient {
  return { address: rcpt.address, notify: rcpt.dsn?.notify ?? undefined, orcpt: rcpt.dsn?.orcpt ?? undefined };
}

function drain(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.resume();
  });
}
