import { createReadStream, open as openCallback } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { fsyncDirectory } from '../lib/durable-file.js';
import { DurableWriter } from './durable-writer.js';

/** A raw descriptor, owned by the DurableWriter that closes it (a FileHandle would close it again when collected). */
const openFd = promisify(openCallback);

export interface SpoolWriter {
  stream: Writable;
  /** Flushes the file to disk (fdatasync) and closes it; returns its size in bytes. */
  finish(): Promise<number>;
  /** Removes a partial file after a refused or broken transfer. */
  discard(): Promise<void>;
}

/**
 * Message bodies, one file per queue id. A file is durable once finish() resolved and
 * syncDirectory() ran after it; the queue row is committed only after both, so a row never
 * points at a file that a crash could take away. A file without a row is an aborted
 * transfer and is removed at start (see removeOrphans in the worker).
 */
export class Spool {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  async create(id: string): Promise<SpoolWriter> {
    const path = this.path(id);
    const stream = new DurableWriter(await openFd(path, 'wx', 0o600));
    return {
      stream,
      async finish() {
        await finished(stream);
        return stream.bytesWritten;
      },
      async discard() {
        stream.destroy();
        await rm(path, { force: true });
      },
    };
  }

  read(id: string): Readable {
    return createReadStream(this.path(id), { highWaterMark: 256 * 1024 });
  }

  /** The header block of a message (up to maxBytes), for DSNs. */
  async readHead(id: string, maxBytes: number): Promise<Buffer> {
    const handle = await open(this.path(id), 'r');
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
      const head = buffer.subarray(0, bytesRead);
      const end = head.indexOf('\r\n\r\n');
      return end === -1 ? head : head.subarray(0, end + 2);
    } finally {
      await handle.close();
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  async list(): Promise<string[]> {
    return readdir(this.dir);
  }

  async syncDirectory(): Promise<void> {
    await fsyncDirectory(this.dir);
  }
}
