import { PassThrough, type Readable } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { RelayFacts } from '../../inbound/webhook-payload.js';
import { STREAM_BUFFER_BYTES } from '../../lib/stream-buffer.js';
import { StoreNotDurable } from '../../model/durability-failure.js';
import type { Envelope, EnvelopeRecipient } from '../../model/envelope.js';
import { SmtpReply } from '../../model/smtp-reply.js';
import { type Acceptance, type AcceptContext, accept, type RouteKind } from '../../pipeline/accept.js';
import { inboundRoute } from '../../pipeline/routes/inbound.js';
import { plainRoute } from '../../pipeline/routes/plain.js';
import { secureRoute } from '../../pipeline/routes/secure.js';
import { classify } from '../../policy/route-policy.js';
import type { Principal } from '../relay-identity.js';
import { type Callback, carriedRoute, principalOf, refuse, type SessionState } from './session-state.js';

type Direction = 'outbound' | 'inbound' | 'secure';

/**
 * DATA: the envelope and session facts become a draft, the route decides which acceptance
 * it meets, and the reply is 250 only once it is committed (or handed on, or consumed).
 */
export function onData(state: SessionState) {
  const { deps } = state;
  const { log } = deps;
  const observe = deps.observe;

  /**
   * Asked again at DATA rather than remembered from MAIL FROM, by the same function: a route
   * changed in between applies to the message, and an answer of `secure` is never lost with a
   * session's state.
   */
  async function routeAtData(
    session: SMTPServerSession,
    principal: Principal | null,
    mailFrom: string,
  ): Promise<{ ctx: AcceptContext; route: RouteKind; direction: Direction }> {
    const route = await classify(deps.routes, principal, mailFrom);
    const carried = carriedRoute(state, session);
    if (carried && carried.kind !== route.kind)
      log.info({ session: session.id, atMailFrom: carried.kind, atData: route.kind }, 'route changed since MAIL FROM: the new one applies');
    switch (route.kind) {
      case 'inbound':
        return { ctx: deps.acceptInbound, route: inboundRoute(deps.acceptInbound, smtpAuthOf(principal)), direction: 'inbound' };
      case 'secure':
        return { ctx: deps.acceptSecure, route: secureRoute(deps.acceptSecure, route.organisationId), direction: 'secure' };
      // The sender was accepted at MAIL FROM; a route turned `reject` since does not refuse the message it already sent.
      case 'relay':
      case 'reject':
        return { ctx: deps.accept, route: plainRoute(deps.accept), direction: 'outbound' };
    }
  }

  return (stream: SMTPServerDataStream, session: SMTPServerSession, callback: Callback<string>): void => {
    // Our own stream in between: if we refuse the message early we stop reading it, but
    // smtp-server's stream must still be drained to the end-of-data mark before we reply.
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    stream.on('error', (err) => body.destroy(err));
    stream.pipe(body);
    const envelope = session.envelope;
    const principal = principalOf(state, session);
    const credentialId = principal?.credentialId ?? null;
    const draftEnvelope: Envelope = {
      mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
      recipients: envelope.rcptTo.map(toRecipient),
      envId: envelope.dsn?.envid ?? undefined,
      ret: envelope.dsn?.ret === 'FULL' || envelope.dsn?.ret === 'HDRS' ? envelope.dsn.ret : undefined,
      requireTls: envelope.requireTLS === true,
    };
    const traceSession = {
      heloName: session.hostNameAppearsAs || 'unknown',
      clientIp: session.remoteAddress,
      tlsProtocol: session.tlsOptions ? session.tlsOptions.version : undefined,
      tlsCipher: session.tlsOptions ? session.tlsOptions.name : undefined,
      authenticated: principal !== null,
    };
    const draft = { envelope: draftEnvelope, session: traceSession, credentialId, relay: relayFacts(principal, traceSession), body };
    const accepted: Promise<{ outcome: Acceptance; direction: Direction }> = routeAtData(session, principal, draftEnvelope.mailFrom).then(
      async ({ ctx, route, direction }) => ({ outcome: await accept(ctx, route, draft), direction }),
    );
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
          refuse(state, 'data', reply, callback);
        });
      },
    );
  };
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
