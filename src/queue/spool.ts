import { createReadStream, open as openCallback } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { promisify } from 'node:util';
import { BodyCache, CACHE_BODY_BYTES, finishInto } from '../lib/body-cache.js';
import { fsyncDirectory } from '../lib/durable-file.js';
import { DurableWriter } from './durable-writer.js';

/**
 * A delivery reads its body this much at a time: each read is a thread-pool round trip, whose
 * wake-up cost the main thread ~0.3 ms on this 2-core VM at 10 sessions of 1 MiB, four times
 * as many of them with 64 KiB reads. One buffer of this size per delivery in flight.
 */
const READ_BYTES = 256 * 1024;

/** A raw descriptor, owned by the DurableWriter that closes it (a FileHandle would close it again when collected). */
const openFd = promisify(openCallback);

export interface SpoolWriter {
  stream: Writable;
  /** Flushes the file to disk (fdatasync) and closes it; returns its size in bytes. */
  finish(): Promise<number>;
  /** Removes a partial file after a refused or broken transfer. */
  discard(): Promise<void>;
}

/** Where message bodies wait for delivery: files on the embedded engine, the store itself on PostgreSQL. */
export interface Spool {
  init(): Promise<void>;
  create(id: string): Promise<SpoolWriter>;
  read(id: string): Readable;
  /** The header block of a message (up to maxBytes), for DSNs. */
  readHead(id: string, maxBytes: number): Promise<Buffer>;
  readAll(id: string): Promise<Buffer>;
  /** The bytes stored for a body (a sealed one with its marker), or undefined when there is none: checked before each delivery. */
  storedBytes(id: string): Promise<number | undefined>;
  remove(id: string): Promise<void>;
  /** Drops the in-memory copy of a body that stays stored (a delivered inbound message, kept for its links). */
  forget(id: string): void;
  /** Keeps in memory, for its delivery, a copy of a body another process stored (an SMTP acceptor, src/app/smtp-acceptor.ts). */
  keep(id: string, body: Buffer): void;
  /** Ids of stored bodies old enough to be orphans if no active message owns them. */
  list(): Promise<string[]>;
  /** Makes the bodies finished so far durable as a set (the directory entries of files). */
  syncDirectory(): Promise<void>;
}

/**
 * A spool that can also store a body sealed: ciphertext under a data key of its own, the key
 * kept only sealed by the key-encryption key (src/secure/sealing-spool.ts). read(), readAll()
 * and readHead() give the plaintext back for delivery, in memory only; remove() deletes the key.
 */
export interface SealingSpool extends Spool {
  /**
   * For mail about a secure message: `answers` is that message's id (null when not known
   * yet), whose shredding shreds this body too. The writer's `answers()` sets it later, up
   * to finish(): an inbound reply names its message only in its header.
   */
  createSealed(id: string, answers: string | null): Promise<SealedSpoolWriter>;
  /** The bytes as the writer counted them, which the queue row recorded: a sealed body without its marker. */
  storedBytes(id: string): Promise<number | undefined>;
}

export interface SealedSpoolWriter extends SpoolWriter {
  answers(secureMessageId: string | null): void;
}

/**
 * Message bodies, one file per queue id. A file is durable once finish() resolved and
 * syncDirectory() ran after it; the queue row is committed only after both, so a row never
 * points at a file that a crash could take away. A file without a row is an aborted
 * transfer and is removed at start (see removeOrphans in the worker).
 */
export class FileSpool implements Spool {
  readonly dir: string;
  private readonly cache: BodyCache;

  /** `cache`: where the copies of small bodies are kept (by default in this process, bounded). */
  constructor(dir: string, cache: BodyCache = new BodyCache()) {
    this.dir = dir;
    this.cache = cache;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  async create(id: string): Promise<SpoolWriter> {
    const path = this.path(id);
    const stream = new DurableWriter(await openFd(path, 'wx', 0o600), CACHE_BODY_BYTES);
    return {
      stream,
      finish: () => finishInto(this.cache, id, stream),
      discard: async () => {
        stream.destroy();
        // Discarded after finish() (its commit failed): the copy kept for its delivery goes too.
        this.forget(id);
        await unlink(path).catch(() => undefined);
      },
    };
  }

  read(id: string): Readable {
    const cached = this.cache.get(id);
    if (cached) return Readable.from([cached], { objectMode: false });
    return createReadStream(this.path(id), { highWaterMark: READ_BYTES });
  }

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

  async readAll(id: string): Promise<Buffer> {
    return Buffer.concat(await this.read(id).toArray());
  }

  async storedBytes(id: string): Promise<number | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached.length;
    return stat(this.path(id)).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)),
    );
  }

  async remove(id: string): Promise<void> {
    this.forget(id);
    await unlink(this.path(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  forget(id: string): void {
    this.cache.forget(id);
  }

  keep(id: string, body: Buffer): void {
    this.cache.remember(id, body);
  }

  async list(): Promise<string[]> {
    return readdir(this.dir);
  }

  async syncDirectory(): Promise<void> {
    await fsyncDirectory(this.dir);
  }
}
