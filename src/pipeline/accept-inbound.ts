import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RoutableTarget } from '../directory/inbound-targets.js';
import type { DnsResolver } from '../dns/index.js';
import { authenticateMessage, type SmtpAuthFact } from '../inbound/authentication-results.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { newQueueId } from '../lib/ids.js';
import type { Envelope } from '../model/envelope.js';
import type { InboundRecord } from '../queue/queue-store.js';
import type { SealingSpool } from '../queue/spool.js';
import type { SecureReplies } from '../secure/secure-replies.js';
import { type AcceptanceBase, acceptedRecord } from './accept-message.js';
import { DataGuard } from './data-guard.js';
import { ForgedResultsFilter } from './forged-results-filter.js';
import { HeaderCapture, MAX_HEADER_BYTES } from './header-capture.js';
import { subjectOf } from './header-subject.js';
import { receivedHeader, type TraceSession } from './trace-headers.js';
import { isReturnedVerification, type VerificationReturns } from './verification-header.js';

export { VERIFICATION_HEADER } from './verification-header.js';

/** An inbound message handed to the application while the client waits (synchronous mode). */
export interface SynchronousHandoff {
  /** The synchronous webhook all these recipients go to, if they share one. */
  targetFor(recipients: string[]): Promise<RoutableTarget | undefined>;
  /** Calls it; resolves to the delivery reply for the record, or throws the SmtpReply to answer instead. */
  deliver(target: RoutableTarget, message: InboundHandoff): Promise<string>;
}

export interface InboundHandoff {
  queueId: string;
  receivedAt: number;
  envelope: Envelope;
  record: InboundRecord;
}

export interface InboundAcceptContext extends AcceptanceBase, VerificationReturns {
  spool: SealingSpool;
  /** Tells replies to secure mail, which are stored sealed and shredded with the message they answer. */
  secureReplies: SecureReplies;
  resolver: DnsResolver;
  synchronous: SynchronousHandoff;
}

export interface InboundDraft {
  envelope: Envelope;
  session: TraceSession;
  relay: RelayFacts;
  smtpAuth: SmtpAuthFact | null;
  body: Readable;
}

export type InboundAcceptance = { kind: 'queued'; id: string } | { kind: 'delivered'; id: string; reply: string } | { kind: 'verification' };

/**
 * Inbound mail from the organisation's server, for the application: read → check → drop
 * forged results → evaluate SPF/DKIM/DMARC while spooling (sealed, when it answers secure
 * mail) → consume a verification token → hand over now (synchronous webhook) or commit for
 * the worker. Only then the 250.
 */
export async function acceptInbound(ctx: InboundAcceptContext, draft: InboundDraft): Promise<InboundAcceptance> {
  const now = ctx.clock.now();
  const id = newQueueId(now);
  const recipients = draft.envelope.recipients.map((r) => r.address);
  const sealed = (await ctx.secureReplies.sealsFor(recipients)) ? await ctx.spool.createSealed(id, null) : undefined;
  const writer = sealed ?? (await ctx.spool.create(id));
  const evaluated = new PassThrough();
  const verdict = authenticateMessage({
    body: evaluated,
    clientIp: draft.session.clientIp,
    helo: draft.session.heloName,
    mailFrom: draft.envelope.mailFrom,
    authservId: ctx.hostname,
    resolver: ctx.resolver,
    smtpAuth: draft.smtpAuth,
  });
  try {
    writer.stream.write(receivedHeader(draft.session, ctx.hostname, id, now));
    const capture = new HeaderCapture(MAX_HEADER_BYTES, ctx.maxReceived);
    const hash = createHash('sha256').update(envelopeKey(draft.envelope));
    await pipeline(draft.body, new DataGuard(ctx.maxMessageBytes), new ForgedResultsFilter(ctx.hostname), tap(hash, evaluated), capture, writer.stream);
    const { header, facts } = await verdict;

    if (await isReturnedVerification(ctx, capture.headers, draft.relay)) {
      await writer.discard();
      return { kind: 'verification' };
    }

    const record: InboundRecord = {
      relay: JSON.stringify(draft.relay),
      authenticationResults: header,
      authentication: JSON.stringify(facts),
      contentHash: hash.digest('hex'),
    };
    const handoff: InboundHandoff = { queueId: id, receivedAt: now, envelope: draft.envelope, record };
    const target = await ctx.synchronous.targetFor(recipients);
    sealed?.answers(await ctx.secureReplies.answeredMessage(capture.headers));
    const sizeBytes = await writer.finish();
    // Synchronous: the application answers before we do, so the organisation's server keeps
    // the message until it is taken and nothing is ever bounced later. A message it took is
    // recorded as delivered (its body stays for the download links); one it did not is not kept.
    const deliveredWith = target === undefined ? undefined : await ctx.synchronous.deliver(target, handoff);
    await ctx.committer.commit({
      ...acceptedRecord(ctx, { id, now, sizeBytes, envelope: draft.envelope, credentialId: draft.relay.credentialId, clientIp: draft.session.clientIp }),
      direction: 'inbound',
      inbound: record,
      deliveredWith,
      // The message log shows no subject of a sealed reply: it would repeat the secure message's.
      subject: sealed ? null : subjectOf(capture.headers),
    });
    return deliveredWith === undefined ? { kind: 'queued', id } : { kind: 'delivered', id, reply: deliveredWith };
  } catch (err) {
    // The evaluation may be waiting for the rest of the message, which will not come: never wait for it.
    evaluated.destroy(new Error('message not accepted'));
    verdict.catch(() => undefined);
    await writer.discard();
    throw err;
  }
}

/** The envelope goes into the idempotency key: the same bytes to other recipients are another delivery. */
function envelopeKey(envelope: Envelope): string {
  return `${envelope.mailFrom}\n${envelope.recipients.map((r) => r.address.toLowerCase()).join(',')}\n`;
}

/** Hashes what passes and copies it to the authentication check, which reads at its own pace. */
function tap(hash: ReturnType<typeof createHash>, copy: PassThrough): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      copy.write(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      copy.end();
      callback();
    },
  });
}
