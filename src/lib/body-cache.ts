import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Bodies up to this size stay in memory from acceptance to delivery, so the worker does not
 * read back what was just written (measured: the open/read/close of the read-back were a
 * tenth of the gateway's main-thread time with 10 KiB messages). Bounded in total.
 */
export const CACHE_BODY_BYTES = 256 * 1024;
const CACHE_TOTAL_BYTES = 64 * 1024 * 1024;

/** A copy of what a writer was given, while it stays within `limit` bytes. */
export class BodyCapture {
  private parts: Buffer[] | undefined = [];
  private bytes = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.parts && this.bytes <= this.limit) this.parts.push(chunk);
    else this.parts = undefined;
  }

  /** The whole content, when it was small enough to keep. */
  body(): Buffer | undefined {
    return this.parts && Buffer.concat(this.parts);
  }
}

/** A spool writer's stream: what it stored, and a copy of it when small. */
export interface CapturingWriter extends Writable {
  readonly bytesWritten: number;
  readonly capture: BodyCapture;
}

/** Once the stream has stored everything: keeps a small body in memory for its delivery, and returns the size. */
export async function finishInto(cache: BodyCache, id: string, stream: CapturingWriter): Promise<number> {
  await finished(stream);
  const body = stream.capture.body();
  if (body) cache.remember(id, body);
  return stream.bytesWritten;
}

/** The bounded in-memory copies of small bodies, oldest dropped first. */
export class BodyCache {
  private readonly bodies = new Map<string, Buffer>();
  private bytes = 0;

  get(id: string): Buffer | undefined {
    return this.bodies.get(id);
  }

  remember(id: string, body: Buffer): void {
    while (this.bytes + body.length > CACHE_TOTAL_BYTES && this.bodies.size > 0) this.forget(this.bodies.keys().next().value as string);
    this.bodies.set(id, body);
    this.bytes += body.length;
  }

  forget(id: string): void {
    const body = this.bodies.get(id);
    if (!body) return;
    this.bodies.delete(id);
    this.bytes -= body.length;
  }
}
