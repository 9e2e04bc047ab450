import { Readable } from 'node:stream';

/** A queue row whose body cannot be delivered as it was accepted: parked for an operator, never sent. */
export interface BodyFault {
  reason: 'body-torn' | 'body-missing';
  reply: string;
}

/**
 * Compares the stored body with the size its queue row recorded at acceptance. A body of
 * another size was truncated or extended on disk (or in its rows) since: sent as it is, it
 * would reach the recipient as a different message that looks complete.
 */
export async function checkBody(storedBytes: (id: string) => Promise<number | undefined>, id: string, queuedBytes: number): Promise<BodyFault | undefined> {
  const stored = await storedBytes(id);
  if (stored === undefined) return { reason: 'body-missing', reply: 'body missing from the spool' };
  if (stored !== queuedBytes) return { reason: 'body-torn', reply: `body torn: ${stored} bytes on disk, ${queuedBytes} queued` };
  return undefined;
}

/**
 * The body as read, failing instead of ending when it turns out longer or shorter than
 * queued (torn while it was being sent): a transfer whose source errors is aborted, so the
 * final dot of a body that does not match is never sent.
 */
export function verifiedBody(body: Readable, id: string, queuedBytes: number): Readable {
  return Readable.from(counted(body, id, queuedBytes), { objectMode: false });
}

async function* counted(body: Readable, id: string, queuedBytes: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > queuedBytes) throw new Error(`body of ${id} torn: more than the ${queuedBytes} bytes queued`);
    yield chunk;
  }
  if (seen !== queuedBytes) throw new Error(`body of ${id} torn: ${seen} bytes read, ${queuedBytes} queued`);
}
