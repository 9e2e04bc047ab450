import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import type { Clock } from '../lib/clock.js';
import { newQueueId } from '../lib/ids.js';
import type { Envelope } from '../model/envelope.js';
import type { GroupCommitter } from '../queue/group-commit.js';
import type { NewMessage } from '../queue/queue-store.js';
import type { SpoolWriter } from '../queue/spool.js';
import { DataGuard } from './data-guard.js';
import { HeaderCapture, MAX_HEADER_BYTES } from './header-capture.js';
import { receivedHeader, type TraceSession } from './trace-headers.js';
import { isReturnedVerification, type VerificationReturns } from './verification-header.js';

/** What every acceptance needs, whatever its route: how bodies are committed, and the limits. */
export interface AcceptContext extends VerificationReturns {
  committer: GroupCommitter;
  clock: Clock;
  hostname: string;
  maxMessageBytes: number;
  /** More Received fields than this are a mail loop (smtp.maxReceived), refused 554 5.4.6 on every route. */
  maxReceived: number;
  expireAfterMs: number;
}

/** One message as the session hands it over at DATA. */
export interface DraftMessage {
  envelope: Envelope;
  session: TraceSession;
  /** Who relayed it: the submission credential, or the inbound one (null without AUTH or certificate). */
  credentialId: string | null;
  /** Who relayed it, for judging a verification mail that comes back (and for an inbound message's record). */
  relay: RelayFacts;
  body: Readable;
}

/**
 * Queued for the worker, handed to the application while the client waited (a synchronous
 * webhook), or one of our own verification mails come back (consumed, never relayed).
 */
export type Acceptance = { kind: 'queued'; id: string } | { kind: 'delivered'; id: string; reply: string } | { kind: 'verification' };

/**
 * What a route kind (routes/plain.ts, secure.ts, inbound.ts) makes of one message; `accept`
 * calls it in the order of these members. Any member may throw: an SmtpReply says what to
 * answer, and the body is discarded.
 */
export interface RouteMessage {
  /** Where the body goes (a sealed writer, for an inbound reply to secure mail). */
  writer: SpoolWriter;
  /** Between the data guard and the header capture: the bytes as the client sent them. */
  asSent: Transform[];
  /** Between the header capture and the writer, our Received field first: the bytes as they are stored. */
  asStored: Transform[];
  /** Once the body is in, before anything is judged on it: what ran beside the stream has finished. */
  bodyRead(): Promise<void>;
  /** Before finish(): may refuse (a refused message is never committed) or note what the header says. */
  checkHeaders(headers: Buffer): Promise<void>;
  /** After finish(), before the commit: what the queue row records besides the envelope; `delivered` when already handed on. */
  record(headers: Buffer): Promise<{ row: Partial<NewMessage>; delivered?: string | undefined }>;
  /** The message was not accepted (called before the body is discarded). */
  abandon(): void;
  /** Called last, accepted or not. */
  close(): void;
}

/** A route kind: opens its part of one message, the writer included. */
export interface RouteKind {
  open(id: string, now: number, draft: DraftMessage): Promise<RouteMessage>;
}

/**
 * The acceptance path, every route alike: stream the content behind our Received field
 * through the data guard to the spool, judge its header, make it durable, commit its
 * envelope. The caller replies 250 only after this resolves; a thrown SmtpReply says what
 * to answer instead, and the spooled body is discarded (a refused message is never queued).
 */
export async function accept(ctx: AcceptContext, route: RouteKind, draft: DraftMessage): Promise<Acceptance> {
  const now = ctx.clock.now();
  const id = newQueueId(now);
  const message = await route.open(id, now, draft);
  const { writer } = message;
  try {
    (message.asStored[0] ?? writer.stream).write(receivedHeader(draft.session, ctx.hostname, id, now));
    const capture = new HeaderCapture(MAX_HEADER_BYTES, ctx.maxReceived);
    await pipeline([draft.body, new DataGuard(ctx.maxMessageBytes), ...message.asSent, capture, ...message.asStored, writer.stream]);
    await message.bodyRead();
    // Before the sender checks: the leg is failed with the reason whatever the From allows.
    if (await isReturnedVerification(ctx, capture.headers, draft.relay)) {
      await writer.discard();
      return { kind: 'verification' };
    }
    // Before finish(): a refused message is never committed (its body, already synced when the
    // pipeline ended the stream, is discarded).
    await message.checkHeaders(capture.headers);
    const sizeBytes = await writer.finish();
    const { row, delivered } = await message.record(capture.headers);
    await ctx.committer.commit({ ...acceptedRecord(ctx, { id, now, sizeBytes, draft }), ...row });
    return delivered === undefined ? { kind: 'queued', id } : { kind: 'delivered', id, reply: delivered };
  } catch (err) {
    message.abandon();
    await writer.discard();
    throw err;
  } finally {
    message.close();
  }
}

/** What every route commits alike; each adds what is its own (direction, records). */
function acceptedRecord(ctx: Pick<AcceptContext, 'expireAfterMs'>, a: { id: string; now: number; sizeBytes: number; draft: DraftMessage }): NewMessage {
  return {
    id: a.id,
    envelope: a.draft.envelope,
    sizeBytes: a.sizeBytes,
    receivedAt: a.now,
    expiresAt: a.now + ctx.expireAfterMs,
    credentialId: a.draft.credentialId,
    clientIp: a.draft.session.clientIp,
    isDsn: false,
  };
}
