import { close, fdatasync, write } from 'node:fs';
import { Writable } from 'node:stream';
import { BodyCapture } from '../lib/body-cache.js';
import { STREAM_BUFFER_BYTES } from '../lib/stream-buffer.js';

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

  constructor(fd: number, captureLimit = 0) {
    super({ highWaterMark: STREAM_BUFFER_BYTES });
    this.fd = fd;
    this.capture = new BodyCapture(captureLimit);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.capture.add(chunk);
    this.writeAll(chunk, 0, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    fdatasync(this.fd, callback);
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
