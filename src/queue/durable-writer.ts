import { close, fdatasync, write, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { BodyCapture } from '../lib/body-cache.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';

/**
 * Each write is a trip through libuv's thread pool (~0.1-0.3 ms of the event loop's time
 * under load on this 2-core VM, most of it waking a pool thread); a body arrives in many
 * chunks. Held chunks cost up to this much memory per transfer, as the stream's own buffer
 * may. Measured at 10 sessions of 1 MiB: 27.5 ms of gateway CPU per message with a write per
 * chunk, 16.6 with 64 KiB writes, 16.1 with 128 KiB (no gain for twice the memory).
 */
export const HOLD_BYTES = STREAM_BUFFER_BYTES;
/** A client trickling tiny chunks makes the file take them one by one, not a long list of small buffers. */
const HOLD_CHUNKS = 64;

/**
 * A file writer whose 'finish' means "on disk": _final runs fdatasync before the stream
 * finishes, and the descriptor is closed when the stream is destroyed (autoDestroy does it
 * after finish). fs.WriteStream cannot promise that: it has no sync step, and a FileHandle
 * stream with autoClose off keeps the handle busy so that datasync() never settles.
 */
export class DurableWriter extends Writable {
  private readonly fd: number;
  /** A copy of the bytes while they stay within captureLimit (see Spool's body cache). */
  readonly capture: BodyCapture;
  bytesWritten = 0;
  /** The chunks not yet written, fewer than HOLD_BYTES and HOLD_CHUNKS. */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(fd: number, captureLimit = 0) {
    super({ highWaterMark: STREAM_BUFFER_BYTES });
    this.fd = fd;
    this.capture = new BodyCapture(captureLimit);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hold([chunk], callback);
  }

  override _writev(entries: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.hold(
      entries.map((e) => e.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writeHeld((err) => (err ? callback(err) : fdatasync(this.fd, callback)));
  }

  /**
   * Chunks are held until HOLD_BYTES and then written in one writev: a 1 MiB body comes in
   * 16 KiB TLS records, and a write of each would be a thread-pool round trip whose wake-up
   * cost the main thread more than the copy. A body within HOLD_BYTES reaches the file in
   * one system call, at the end.
   */
  private hold(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    for (const chunk of chunks) {
      this.capture.add(chunk);
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    }
    if (this.heldBytes < HOLD_BYTES && this.held.length < HOLD_CHUNKS) return callback();
    this.writeHeld(callback);
  }

  /** The chunks held back, in one writev; a short write goes on with the rest one by one. */
  private writeHeld(callback: (error?: Error | null) => void): void {
    const chunks = this.held;
    if (chunks.length === 0) return callback();
    this.held = [];
    this.heldBytes = 0;
    writev(this.fd, chunks, (err, written) => {
      if (err) return callback(err);
      this.bytesWritten += written;
      this.writeRest(chunks, written, callback);
    });
  }

  private writeRest(chunks: Buffer[], written: number, callback: (error?: Error | null) => void): void {
    let skip = written;
    const rest: Buffer[] = [];
    for (const chunk of chunks) {
      if (skip >= chunk.length) skip -= chunk.length;
      else {
        rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      }
    }
    const next = (i: number): void => {
      const chunk = rest[i];
      if (!chunk) return callback();
      this.writeAll(chunk, 0, (err) => (err ? callback(err) : next(i + 1)));
    };
    next(0);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    close(this.fd, () => callback(error));
  }

  private writeAll(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
    write(this.fd, chunk, offset, chunk.length - offset, null, (err, written) => {
      if (err) return callback(err);
      this.bytesWritten += written;
      if (offset + written < chunk.length) return this.writeAll(chunk, offset + written, callback);
      callback();
    });
  }
}
