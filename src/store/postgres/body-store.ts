import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { sql } from 'kysely';
import { BodyCache, BodyCapture, CACHE_BODY_BYTES, finishInto } from '../../lib/body-cache.js';
import type { Spool, SpoolWriter } from '../../queue/spool.js';
import type { Db } from '../tables.js';

/** Rows of this size keep a 50 MB message at 200 rows while each stays far below PostgreSQL's 1 GB bytea limit. */
const CHUNK_BYTES = 256 * 1024;
/**
 * A body is an orphan (a transfer cut short) only once no instance can still be writing
 * it: its rows are committed chunk by chunk before the message row that owns them.
 */
const ORPHAN_AFTER_MS = 60 * 60 * 1000;
const ROWS_PER_READ = 4;

/**
 * Message bodies as rows of the shared store, for instances that share no disk. Each chunk
 * is committed as it fills, so a body streams in without being held whole in memory, and
 * it is durable (PostgreSQL's commit) before the message row that points at it commits.
 */
export class DatabaseSpool implements Spool {
  private readonly db: Db;
  private readonly now: () => number;
  private readonly cache: BodyCache;

  /** `cache`: where the copies of small bodies are kept (by default in this process, bounded). */
  constructor(db: Db, now: () => number = Date.now, cache: BodyCache = new BodyCache()) {
    this.db = db;
    this.now = now;
    this.cache = cache;
  }

  async init(): Promise<void> {}

  async create(id: string): Promise<SpoolWriter> {
    const stream = new ChunkWriter(this.db, id, this.now());
    return {
      stream,
      finish: () => finishInto(this.cache, id, stream),
      discard: async () => {
        stream.destroy();
        await finished(stream).catch(() => undefined);
        await this.remove(id);
      },
    };
  }

  read(id: string): Readable {
    const cached = this.cache.get(id);
    if (cached) return Readable.from([cached], { objectMode: false });
    return Readable.from(this.chunks(id), { objectMode: false });
  }

  async readHead(id: string, maxBytes: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.chunks(id)) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= maxBytes) break;
    }
    const head = Buffer.concat(parts).subarray(0, maxBytes);
    const end = head.indexOf('\r\n\r\n');
    return end === -1 ? head : head.subarray(0, end + 2);
  }

  async readAll(id: string): Promise<Buffer> {
    return Buffer.concat(await this.read(id).toArray());
  }

  async storedBytes(id: string): Promise<number | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached.length;
    const row = await this.db
      .selectFrom('message_bodies')
      .select([sql<string>`count(*)`.as('rows'), sql<string>`coalesce(sum(octet_length(chunk)), 0)`.as('bytes')])
      .where('message_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.rows) === 0 ? undefined : Number(row.bytes);
  }

  async remove(id: string): Promise<void> {
    this.cache.forget(id);
    await this.db.deleteFrom('message_bodies').where('message_id', '=', id).execute();
  }

  keep(id: string, body: Buffer): void {
    this.cache.remember(id, body);
  }

  forget(id: string): void {
    this.cache.forget(id);
  }

  async list(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('message_bodies')
      .select('message_id')
      .distinct()
      .where('seq', '=', 0)
      .where('created_at', '<', this.now() - ORPHAN_AFTER_MS)
      .execute();
    return rows.map((r) => r.message_id);
  }

  async syncDirectory(): Promise<void> {}

  /**
   * A few rows per query (1 MiB), so a large body is never read whole and a small one takes
   * one round trip; a body without rows reads as missing.
   */
  private async *chunks(id: string): AsyncGenerator<Buffer> {
    for (let from = 0; ; from += ROWS_PER_READ) {
      const rows = await this.db
        .selectFrom('message_bodies')
        .select('chunk')
        .where('message_id', '=', id)
        .where('seq', '>=', from)
        .where('seq', '<', from + ROWS_PER_READ)
        .orderBy('seq')
        .execute();
      if (rows.length === 0 && from === 0) throw Object.assign(new Error(`no stored body for message ${id}`), { code: 'ENOENT' });
      for (const { chunk } of rows) if (chunk.length > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (rows.length < ROWS_PER_READ) return;
    }
  }
}

/** Collects the stream into chunk rows; a body of zero bytes still gets its row 0, so it exists. */
class ChunkWriter extends Writable {
  private readonly db: Db;
  private readonly id: string;
  private readonly createdAt: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  readonly capture = new BodyCapture(CACHE_BODY_BYTES);
  /** The chunk insert under way: a discarded transfer's rows are deleted only after it, or one would outlive the delete. */
  private inserting: Promise<unknown> = Promise.resolve();
  bytesWritten = 0;

  constructor(db: Db, id: string, createdAt: number) {
    super({ highWaterMark: CHUNK_BYTES });
    this.db = db;
    this.id = id;
    this.createdAt = createdAt;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.capture.add(chunk);
    this.bytesWritten += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < CHUNK_BYTES) return callback();
    this.flush(false).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush(true).then(() => callback(), callback);
  }

  private async flush(last: boolean): Promise<void> {
    const all = Buffer.concat(this.pending);
    let offset = 0;
    const rows = [];
    while (all.length - offset >= CHUNK_BYTES || (last && (offset < all.length || this.seq === 0))) {
      const chunk = all.subarray(offset, Math.min(all.length, offset + CHUNK_BYTES));
      rows.push({ message_id: this.id, seq: this.seq++, chunk, created_at: this.createdAt });
      offset += chunk.length;
      if (chunk.length === 0) break;
    }
    const rest = all.subarray(offset);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    if (rows.length === 0) return;
    this.inserting = this.db.insertInto('message_bodies').values(rows).execute();
    await this.inserting;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inserting.then(
      () => callback(error),
      () => callback(error),
    );
  }
}
