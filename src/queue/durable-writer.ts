import { close, fdatasync, write, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { BodyCapture } from '../lib/body-cache.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';

/**
 * Each write is a trip through libuv's thread pool (~50-100 µs of the event loop's time under
 * load); a 10 KiB body arrives in several chunks. Holding up to this much before the first
 * write costs at most 64 KiB of memory per transfer, as the stream's own buffer may.
 */
const HOLD_BYTES = STREAM_BUFFER_BYTES;
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
  /** The first chunks, held while they fit in HOLD_BYTES: most bodies then reach the file in one system call. */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(fd: number, captureLimit = 0) {
    super({ highWaterMark: STREAM_BUFFER_BYTES });
    this.fd = fd;
    this.capture = new BodyCapture(captureLimit);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.capture.add(chunk);
    if (this.heldBytes + chunk.length <= HOLD_BYTES && this.held.length < HOLD_CHUNKS) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return callback();
    }
    this.writeHeld((err) => (err ? callback(err) : this.writeAll(chunk, 0, callback)));
  }

  /**
   * The chunks that queued while the last write was out, as one writev: a 1 MiB body comes in
   * 16 KiB TLS records, and each write of its own would be a thread-pool round trip, whose
   * wake-up was a fifth of the main thread at 10 sessions of 1 MiB.
   */
  override _writev(entries: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const chunks = entries.map((e) => e.chunk);
    for (const chunk of chunks) this.capture.add(chunk);
    const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (this.heldBytes + bytes <= HOLD_BYTES && this.held.length + chunks.length <= HOLD_CHUNKS) {
      this.held.push(...chunks);
      this.heldBytes += bytes;
      return callback();
    }
    this.held.push(...chunks);
    this.writeHeld(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writeHeld((err) => (err ? callback(err) : fdatasync(this.fd, callback)));
  }

  /** The chunks held back, in one writev; a short write goes on with the rest one by one. */
  private writeHeld(callback: (error?: Error | null) => void): void {
    const chunks = this.held;
    if (chunks.length === 0) return callback();
    this.held = [];
    this.heldBytes = HOLD_BYTES; // from here on every chunk goes straight to the file
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
