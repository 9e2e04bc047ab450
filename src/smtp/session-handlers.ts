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
import type { FailureThrottle } from './auth-throttle.js';
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
  throttleByIp: FailureThrottle;
  throttleByUser: FailureThrottle;
  senderPolicy: SenderPolicy;
  log: Logger;
  /** Called after each commit, so the delivery worker starts at once. */
  onQueued(queueId: string): void;
}

type Callback<T = void> = (err?: Error | null, result?: T) => void;

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

  function onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: Callback<{ user: Principal }>): void {
    const ip = session.remoteAddress;
    const username = auth.username ?? '';
    if (deps.throttleByIp.blocked(ip) || deps.throttleByUser.blocked(username)) {
      log.warn({ ip, username, session: session.id }, 'auth throttled');
      return callback(SmtpReply.authThrottled());
    }
    deps.credentials.verify(username, auth.password ?? '', ip).then(
      (outcome) => {
        if (outcome.ok) {
          const { credential } = outcome;
          // A rotated-out credential still works until its retire-at time; its use shows
          // in `credential show`, and here, so the operator can find the client still on it.
          if (credential.state === 'retiring') log.warn({ ip, credentialId: credential.id, session: session.id }, 'auth ok with a credential being retired');
          else log.info({ ip, credentialId: credential.id, session: session.id }, 'auth ok');
          const principal: Principal = { credentialId: credential.id, kind: credential.kind, domainId: credential.domainId, domain: credential.domain };
          return callback(null, { user: principal });
        }
        deps.throttleByIp.fail(ip);
        deps.throttleByUser.fail(username);
        log.warn({ ip, username, reason: outcome.reason, detail: outcome.detail, session: session.id }, 'auth failed');
        callback(SmtpReply.authFailed());
      },
      (err: unknown) => callback(SmtpReply.localError(err)),
    );
  }

  function onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void {
    const principal = principalOf(session);
    if (principal === null) {
      // Only reachable when unauthenticated inbound is allowed (smtp-server's authOptional); still TLS first.
      return callback(session.secure ? null : SmtpReply.mustStartTls());
    }
    if (principal.kind === 'inbound') {
      // The envelope sender is whoever wrote to the organisation; what matters is the recipient (onRcptTo).
      inboundCredentialObjection(deps.db, principal.credentialId, deps.accept.clock.now()).then(
        (objection) => callback(objection ?? null),
        (err: unknown) => callback(SmtpReply.localError(err)),
      );
      return;
    }
    const credentialId = principal.credentialId;
    deps.senderPolicy.checkMailFrom(credentialId, address.address).then(
      (objection) => {
        const refusal = objection ?? overRate(credentialId);
        if (refusal)
          log.info({ session: session.id, credentialId, mailFrom: address.address, reply: refusal.toString(), reason: refusal.cause }, 'sender refused');
        callback(refusal ?? null);
      },
      (err: unknown) => callback(SmtpReply.localError(err)),
    );
  }

  /** Checked after the sender, so that a refused sender does not use up the credential's hourly allowance. */
  function overRate(credentialId: string): SmtpReply | undefined {
    const admitted = deps.credentials.admitMessage(credentialId);
    return admitted.ok ? undefined : SmtpReply.messageRateExceeded(admitted.limitPerHour);
  }

  function onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void {
    const sender = inboundSenderOf(principalOf(session));
    if (!sender) return callback(null);
    lookUpInboundRecipient(deps.db, address.address).then(
      (recipient) => {
        const objection = inboundRecipientObjection(sender, address.address, recipient);
        if (objection) log.info({ session: session.id, rcpt: address.address, reply: objection.toString() }, 'inbound recipient refused');
        callback(objection ?? null);
      },
      (err: unknown) => callback(SmtpReply.localError(err)),
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
    const accepted: Promise<InboundAcceptance> =
      principal?.kind === 'submission'
        ? acceptSubmission(principal.credentialId, { ...draft, credentialId })
        : acceptInbound(deps.acceptInbound, { ...draft, relay: relayFacts(principal, draft.session), smtpAuth: smtpAuthOf(principal) });
    accepted.then(
      (outcome) => {
        const from = envelope.mailFrom ? envelope.mailFrom.address : '';
        const direction = principal?.kind === 'submission' ? 'outbound' : 'inbound';
        if (outcome.kind === 'verification') {
          log.info({ session: session.id, from, credentialId }, 'verification token received');
          return callback(null, SmtpReply.delivered('verification received').message);
        }
        log.info({ queueId: outcome.id, session: session.id, from, rcpt: envelope.rcptTo.length, credentialId, direction }, 'message accepted');
        if (outcome.kind === 'delivered') return callback(null, SmtpReply.delivered(`delivered to the application as ${outcome.id}`).message);
        deps.onQueued(outcome.id);
        callback(null, SmtpReply.queued(outcome.id).message);
      },
      (err: unknown) => {
        const reply = err instanceof SmtpReply ? err : SmtpReply.localError(err);
        if ((err as NodeJS.ErrnoException).code === 'ECONNECTION') log.info({ session: session.id }, 'client went away during DATA; nothing queued');
        else if (err instanceof SmtpReply) log.info({ session: session.id, credentialId, reply: reply.toString(), reason: reply.cause }, 'message refused');
        else log.error({ session: session.id, err }, 'message not accepted: local error');
        stream.unpipe(body);
        drain(stream).then(() => callback(reply));
      },
    );
  }

  async function acceptSubmission(credentialId: string, draft: Parameters<typeof acceptMessage>[1]): Promise<InboundAcceptance> {
    const secure = await secureRoutingOf(deps, credentialId, draft.envelope.mailFrom);
    const id = secure ? await acceptSecure(deps.acceptSecure, { ...draft, ...secure }) : await acceptMessage(deps.accept, draft);
    return { kind: 'queued', id };
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
