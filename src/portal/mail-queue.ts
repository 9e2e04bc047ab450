import { newQueueId } from '../lib/ids.js';
import type { Envelope } from '../model/envelope.js';
import { subjectOf } from '../pipeline/header-subject.js';
import type { GroupCommitter } from '../queue/group-commit.js';
import type { InboundRecord } from '../queue/queue-store.js';
import type { SealingSpool } from '../queue/spool.js';

export interface PortalMailQueue {
  spool: SealingSpool;
  committer: GroupCommitter;
  /** Tells the delivery worker that work was committed; it also finds it at its next poll. */
  wake(): void;
  expireAfterMs: number;
}

export interface PortalMail {
  body: Buffer;
  envelope: Envelope;
  direction: 'outbound' | 'inbound';
  /** For mail to the application: what the inbound courier hands on with it. */
  inbound?: InboundRecord | undefined;
  clientIp: string;
  now: number;
  /** Shorter than the queue's expiry when the mail is worthless later (a one-time code). */
  expiresAt?: number | undefined;
  /**
   * The secure message this mail answers (a reply, a read receipt): its body is stored sealed
   * like that message, and shredded with it.
   */
  answers?: string | undefined;
}

/** Stored like accepted mail: body durable in the spool, then the row in a group commit, then the worker woken. */
export async function queuePortalMail(q: PortalMailQueue, mail: PortalMail): Promise<string> {
  const id = newQueueId(mail.now);
  const writer = mail.answers === undefined ? await q.spool.create(id) : await q.spool.createSealed(id, mail.answers);
  let sizeBytes: number;
  try {
    writer.stream.end(mail.body);
    sizeBytes = await writer.finish();
  } catch (err) {
    await writer.discard();
    throw err;
  }
  await q.committer.commit({
    id,
    envelope: mail.envelope,
    sizeBytes,
    receivedAt: mail.now,
    expiresAt: mail.expiresAt ?? mail.now + q.expireAfterMs,
    credentialId: null,
    clientIp: mail.clientIp,
    isDsn: false,
    direction: mail.direction,
    inbound: mail.inbound,
    // The message log shows what the recipient was sent (a code, a reply confirmation); a sealed
    // mail's subject repeats the secure message's, so it stays sealed with it.
    subject: mail.answers === undefined ? subjectOf(headerSection(mail.body)) : null,
  });
  q.wake();
  return id;
}

function headerSection(body: Buffer): Buffer {
  const end = body.indexOf('\r\n\r\n');
  return end === -1 ? body : body.subarray(0, end + 2);
}
