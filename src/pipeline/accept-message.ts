import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import type { Clock } from '../lib/clock.js';
import { newQueueId } from '../lib/ids.js';
import type { Envelope } from '../model/envelope.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { GroupCommitter } from '../queue/group-commit.js';
import type { NewMessage } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import { DataGuard } from './data-guard.js';
import { HeaderCapture, MAX_HEADER_BYTES } from './header-capture.js';
import { headerFrom } from './header-from.js';
import { subjectOf } from './header-subject.js';
import { tlsRequiredOf } from './tls-required.js';
import { receivedHeader, type TraceSession } from './trace-headers.js';
import { isReturnedVerification, type VerificationReturns } from './verification-header.js';

/** What every acceptance path needs: where bodies go, how they are committed, and the limits. */
export interface AcceptanceBase {
  spool: Spool;
  committer: GroupCommitter;
  clock: Clock;
  hostname: string;
  maxMessageBytes: number;
  /** More Received fields than this are a mail loop (smtp.maxReceived), refused 554 5.4.6 on every path. */
  maxReceived: number;
  expireAfterMs: number;
}

/** A submission is queued, or it was one of our own verification mails come back the wrong way (consumed, never relayed). */
export type SubmissionAcceptance = { kind: 'queued'; id: string } | { kind: 'verification' };

export interface AcceptContext extends AcceptanceBase, VerificationReturns {
  /** Decides the header From once the message is in (the envelope sender was decided at MAIL FROM). */
  senderPolicy: SenderPolicy;
}

export interface DraftMessage {
  envelope: Envelope;
  session: TraceSession;
  credentialId: string | null;
  /** Who relayed it, for judging a verification mail that comes back over a submission session. */
  relay: RelayFacts;
  body: Readable;
}

/**
 * The acceptance path: check the content while streaming it to the spool behind our
 * Received header, check who the header says sent it, make it durable, commit its
 * envelope. The caller replies 250 only after this resolves; a thrown SmtpReply says what
 * to answer instead, and the spooled body is discarded (a refused message is never queued).
 */
export async function acceptMessage(ctx: AcceptContext, draft: DraftMessage): Promise<SubmissionAcceptance> {
  const now = ctx.clock.now();
  const id = newQueueId(now);
  const writer = await ctx.spool.create(id);
  try {
    writer.stream.write(receivedHeader(draft.session, ctx.hostname, id, now));
    const capture = new HeaderCapture(MAX_HEADER_BYTES, ctx.maxReceived);
    await pipeline(draft.body, new DataGuard(ctx.maxMessageBytes), capture, writer.stream);
    // Before the sender checks: the leg is failed with the reason whatever the From allows.
    if (await isReturnedVerification(ctx, capture.headers, draft.relay)) {
      await writer.discard();
      return { kind: 'verification' };
    }
    // Before finish(): a refused message is never committed (its body, already synced when the
    // pipeline ended the stream, is discarded).
    await checkHeaderFrom(ctx.senderPolicy, draft.credentialId, capture.headers);
    const sizeBytes = await writer.finish();
    await ctx.committer.commit({
      ...acceptedRecord(ctx, { id, now, sizeBytes, envelope: draft.envelope, credentialId: draft.credentialId, clientIp: draft.session.clientIp }),
      tlsRequired: tlsRequiredOf(draft.envelope, capture.headers),
      subject: subjectOf(capture.headers),
    });
    return { kind: 'queued', id };
  } catch (err) {
    await writer.discard();
    throw err;
  }
}

/** What every acceptance path commits alike; each adds what is its own (direction, records). */
export function acceptedRecord(
  ctx: Pick<AcceptanceBase, 'expireAfterMs'>,
  a: { id: string; now: number; sizeBytes: number; envelope: Envelope; credentialId: string | null; clientIp: string },
): NewMessage {
  return {
    id: a.id,
    envelope: a.envelope,
    sizeBytes: a.sizeBytes,
    receivedAt: a.now,
    expiresAt: a.now + ctx.expireAfterMs,
    credentialId: a.credentialId,
    clientIp: a.clientIp,
    isDsn: false,
  };
}

export async function checkHeaderFrom(policy: SenderPolicy, credentialId: string | null, headers: Buffer): Promise<void> {
  const from = headerFrom(headers);
  if ('refusal' in from) throw from.refusal;
  const objection = await policy.checkHeaderFrom(credentialId ?? '', from.addresses);
  if (objection) throw objection;
}
