import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Credential, CredentialDirectory } from '../directory/credentials.js';
import { inboundCredentialObjection, lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';
import type { Envelope, EnvelopeRecipient } from '../model/envelope.js';
import { acceptInbound, type InboundAcceptance, type InboundAcceptContext } from '../pipeline/accept-inbound.js';
import { type AcceptContext, acceptMessage } from '../pipeline/accept-message.js';
import { acceptSecure, type SecureAcceptContext } from '../pipeline/accept-secure.js';
import { type InboundSender, inboundRecipientObjection } from '../policy/inbound-relay.js';
import { secureRoutingOf } from '../policy/route-policy.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { Db } from '../store/tables.js';
import type { AuthThrottle } from './auth-throttle.js';
import { SmtpReply } from './reply.js';

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
  /** Failed AUTHs per client address and per user name; shared by the instances on PostgreSQL (authThrottle). */
  throttleByIp: AuthThrottle;
  throttleByUser: AuthThrottle;
  senderPolicy: SenderPolicy;
  log: Logger;
  /** Called after each commit, so the delivery worker starts at once. */
  onQueued(queueId: string): void;
  /** Why no message can be stored now (free space below health.minFreeDisk), or undefined; cheap enough for every MAIL FROM. */
  storageShortage(): Promise<string | undefined>;
  /** Told what each AUTH and transaction came to, for the metrics. */
  observe?: SmtpObserver | undefined;
}

/** Where a transaction was refused: the command that got the refusal. */
export type RefusalStage = 'mail_from' | 'rcpt_to' | 'data';

/** What the session handlers report; every value is from a small closed set (see http/metrics.ts). */
export interface SmtpObserver {
  /** `result` is `success`, a LoginRefusal, `throttled` or `error`. */
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

/** Who the session authenticated as; smtp-server keeps it as `session.user`. */
interface Principal {
  credentialId: string;
  kind: Credential['kind'];
  domainId: string | null;
  domain: string | null;
}

// smtp-server leaves `user` false (not undefined) on a session that has not authenticated.
const principalOf = (session: SMTPServerSession): Principal | null => (session.user ? (session.user as Principal) : null);

function inboundSenderOf(principal: Principal | null): InboundSender | undefined {
  if (principal === null) return { kind: 'unauthenticated' };
  if (principal.kind === 'inbound' && principal.domainId && principal.domain)
    return { kind: 'inbound-credential', domainId: principal.domainId, domain: principal.domain };
  return undefined;
}

/** The smtp-server hooks of a submission listener. */
export function sessionHandlers(deps: SessionDeps) {
  const { log } = deps;
  const observe = deps.observe;
  /** Answers a command with a refusal, counted by stage and reply. */
  const refuse = <T>(stage: RefusalStage, reply: SmtpReply, callback: Callback<T>): void => {
    observe?.refused(stage, reply);
    callback(reply);
  };

  function onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: Callback<{ user: Principal }>): void {
    const ip = session.remoteAddress;
    const username = auth.username ?? '';
    /** A failure is counted before the reply, so that a client's next attempt already meets it. */
    const recordFailure = (): Promise<void> =>
      Promise.all([deps.throttleByIp.recordFailure(ip), deps.throttleByUser.recordFailure(username)]).then(
        () => undefined,
        (err: unknown) => log.error({ ip, username, session: session.id, err }, 'failed auth not counted: local error'),
      );
    const verify = (): void => {
      deps.credentials.verify(username, auth.password ?? '', ip).then(
        (outcome) => {
          if (outcome.ok) {
            const { credential } = outcome;
            // A rotated-out credential still works until its retire-at time; its use shows
            // in `credential show`, and here, so the operator can find the client still on it.
            if (credential.state === 'retiring') log.warn({ ip, credentialId: credential.id, session: session.id }, 'auth ok with a credential being retired');
            else log.info({ ip, credentialId: credential.id, session: session.id }, 'auth ok');
            observe?.auth(auth.method, 'success');
            const principal: Principal = { credentialId: credential.id, kind: credential.kind, domainId: credential.domainId, domain: credential.domain };
            return callback(null, { user: principal });
          }
          log.warn({ ip, username, mechanism: auth.method, reason: outcome.reason, detail: outcome.detail, session: session.id }, 'auth failed');
          observe?.auth(auth.method, outcome.reason);
          recordFailure().then(() => callback(SmtpReply.authFailed()));
        },
        (err: unknown) => {
          log.error({ ip, username, session: session.id, err }, 'auth not decided: local error');
          observe?.auth(auth.method, 'error');
          callback(SmtpReply.localError(err));
        },
      );
    };
    Promise.all([deps.throttleByIp.isBlocked(ip), deps.throttleByUser.isBlocked(username)]).then(
      ([byIp, byUser]) => {
        if (!byIp && !byUser) return verify();
        log.warn({ ip, username, session: session.id }, 'auth throttled');
        observe?.auth(auth.method, 'throttled');
        callback(SmtpReply.authThrottled());
      },
      (err: unknown) => {
        // Fails closed: without the count, a guesser would get unlimited attempts while the store is down.
        log.error({ ip, username, session: session.id, err }, 'auth refused for now: failed attempts could not be read');
        observe?.auth(auth.method, 'error');
        callback(SmtpReply.authUnavailable());
      },
    );
  }

  function onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void {
    const principal = principalOf(session);
    const credentialId = principal?.credentialId ?? null;
    const answer = (refusal: SmtpReply | null | undefined, err?: unknown): void => {
      if (!refusal) return callback(null);
      // A transaction refused at MAIL FROM ends here: this is its one log line.
      const line = { event: 'smtp.transaction', outcome: 'refused', stage: 'mail_from', session: session.id, ip: session.remoteAddress, credentialId };
      if (err === undefined) log.info({ ...line, mailFrom: address.address, reply: refusal.toString(), reason: refusal.cause }, 'sender refused');
      else log.error({ ...line, mailFrom: address.address, reply: refusal.toString(), err }, 'sender not checked: local error');
      refuse('mail_from', refusal, callback);
    };
    const failed = (err: unknown) => answer(SmtpReply.localError(err), err);
    const checkSender = (): void => {
      if (principal === null) {
        // Only reachable when unauthenticated inbound is allowed (smtp-server's authOptional); still TLS first.
        return answer(session.secure ? null : SmtpReply.mustStartTls());
      }
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
    // RFC 5321 §4.5.3.1.10: refused before the client sends a message there is no room to store.
    deps.storageShortage().then((shortage) => (shortage === undefined ? checkSender() : answer(SmtpReply.insufficientStorage(shortage))), failed);
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
    const sender = inboundSenderOf(principalOf(session));
    if (!sender) return callback(null);
    lookUpInboundRecipient(deps.db, address.address).then(
      (recipient) => {
        const objection = inboundRecipientObjection(sender, address.address, recipient);
        if (!objection) return callback(null);
        log.info({ session: session.id, rcpt: address.address, reply: objection.toString() }, 'inbound recipient refused');
        refuse('rcpt_to', objection, callback);
      },
      (err: unknown) => {
        log.error({ session: session.id, rcpt: address.address, err }, 'recipient not checked: local error');
        refuse('rcpt_to', SmtpReply.localError(err), callback);
      },
    );
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
    const accepted: Promise<Accepted> =
      principal?.kind === 'submission'
        ? acceptSubmission(principal.credentialId, { ...draft, credentialId })
        : acceptInbound(deps.acceptInbound, { ...draft, relay: relayFacts(principal, draft.session), smtpAuth: smtpAuthOf(principal) }).then((outcome) => ({
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
          log.info({ ...line(), outcome: 'verification' }, 'verification token received');
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
          else log.error({ ...line(), outcome: 'refused', reply: reply.toString(), err }, 'message not accepted: local error');
          refuse('data', reply, callback);
        });
      },
    );
  }

  async function acceptSubmission(credentialId: string, draft: Parameters<typeof acceptMessage>[1]): Promise<Accepted> {
    const secure = await secureRoutingOf(deps, credentialId, draft.envelope.mailFrom);
    if (secure) return { outcome: { kind: 'queued', id: await acceptSecure(deps.acceptSecure, { ...draft, ...secure }) }, direction: 'secure' };
    return { outcome: { kind: 'queued', id: await acceptMessage(deps.accept, draft) }, direction: 'outbound' };
  }

  return { onAuth, onMailFrom, onRcptTo, onData };
}

function relayFacts(principal: Principal | null, session: { clientIp: string; tlsProtocol?: string | undefined; tlsCipher?: string | undefined }): RelayFacts {
  return {
    authenticated: principal !== null,
    credentialId: principal?.credentialId ?? null,
    domain: principal?.domain ?? null,
    clientIp: session.clientIp,
    tlsVersion: session.tlsProtocol ?? null,
    tlsCipher: session.tlsCipher ?? null,
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
