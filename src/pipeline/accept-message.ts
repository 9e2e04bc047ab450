import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../lib/clock.js';
import { newQueueId } from '../lib/ids.js';
import type { Envelope } from '../model/envelope.js';
import type { GroupCommitter } from '../queue/group-commit.js';
import type { Spool } from '../queue/spool.js';
import { DataGuard } from '../smtp/data-guard.js';
import { receivedHeader, type TraceSession } from './trace-headers.js';

export interface AcceptContext {
  spool: Spool;
  committer: GroupCommitter;
  clock: Clock;
  hostname: string;
  maxMessageBytes: number;
  expireAfterMs: number;
}

export interface DraftMessage {
  envelope: Envelope;
  session: TraceSession;
  credentialId: string | null;
  body: Readable;
}

/**
 * The acceptance path: check the content while streaming it to the spool behind our
 * Received header, make it durable, commit its envelope. The caller replies 250 only
 * after this resolves; a thrown SmtpReply says what to answer instead.
 */
export async function acceptMessage(ctx: AcceptContext, draft: DraftMessage): Promise<string> {
  const now = ctx.clock.now();
  const id = newQueueId(now);
  const writer = await ctx.spool.create(id);
  try {
    writer.stream.write(receivedHeader(draft.session, ctx.hostname, id, now));
    await pipeline(draft.body, new DataGuard(ctx.maxMessageBytes), writer.stream);
    const sizeBytes = await writer.finish();
    await ctx.committer.commit({
      id,
      envelope: draft.envelope,
      sizeBytes,
      receivedAt: now,
      expiresAt: now + ctx.expireAfterMs,
      credentialId: draft.credentialId,
      clientIp: draft.session.clientIp,
      isDsn: false,
    });
    return id;
  } catch (err) {
    await writer.discard();
    throw err;
  }
}
