import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { CredentialDirectory } from '../directory/credentials.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';
import type { EnvelopeRecipient } from '../model/envelope.js';
import { type AcceptContext, acceptMessage } from '../pipeline/accept-message.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { FailureThrottle } from './auth-throttle.js';
import { SmtpReply } from './reply.js';

export interface SessionDeps {
  credentials: CredentialDirectory;
  accept: AcceptContext;
  throttleByIp: FailureThrottle;
  throttleByUser: FailureThrottle;
  senderPolicy: SenderPolicy;
  log: Logger;
  /** Called after each commit, so the delivery worker starts at once. */
  onQueued(queueId: string): void;
}

type Callback<T = void> = (err?: Error | null, result?: T) => void;

/** The smtp-server hooks of a submission listener. */
export function sessionHandlers(deps: SessionDeps) {
  const { log } = deps;

  function onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: Callback<{ user: string }>): void {
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
          return callback(null, { user: credential.id });
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
    const credentialId = typeof session.user === 'string' ? session.user : '';
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

  function onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: Callback<string>): void {
    // Our own stream in between: if we refuse the message early we stop reading it, but
    // smtp-server's stream must still be drained to the end-of-data mark before we reply.
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    stream.on('error', (err) => body.destroy(err));
    stream.pipe(body);
    const envelope = session.envelope;
    acceptMessage(deps.accept, {
      envelope: {
        mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
        recipients: envelope.rcptTo.map(toRecipient),
        envId: envelope.dsn?.envid ?? undefined,
        ret: envelope.dsn?.ret === 'FULL' || envelope.dsn?.ret === 'HDRS' ? envelope.dsn.ret : undefined,
      },
      session: {
        heloName: session.hostNameAppearsAs || 'unknown',
        clientIp: session.remoteAddress,
        tlsProtocol: session.tlsOptions ? session.tlsOptions.version : undefined,
        tlsCipher: session.tlsOptions ? session.tlsOptions.name : undefined,
        authenticated: Boolean(session.user),
      },
      credentialId: typeof session.user === 'string' ? session.user : null,
      body,
    }).then(
      (queueId) => {
        log.info(
          { queueId, session: session.id, from: envelope.mailFrom ? envelope.mailFrom.address : '', rcpt: envelope.rcptTo.length, credentialId: session.user },
          'message accepted',
        );
        deps.onQueued(queueId);
        callback(null, SmtpReply.queued(queueId).message);
      },
      (err: unknown) => {
        const reply = err instanceof SmtpReply ? err : SmtpReply.localError(err);
        if ((err as NodeJS.ErrnoException).code === 'ECONNECTION') log.info({ session: session.id }, 'client went away during DATA; nothing queued');
        else if (err instanceof SmtpReply)
          log.info({ session: session.id, credentialId: session.user, reply: reply.toString(), reason: reply.cause }, 'message refused');
        else log.error({ session: session.id, err }, 'message not accepted: local error');
        stream.unpipe(body);
        drain(stream).then(() => callback(reply));
      },
    );
  }

  return { onAuth, onMailFrom, onData };
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
