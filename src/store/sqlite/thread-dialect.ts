import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { ThreadOptions, ThreadReply, ThreadRequest } from './thread-protocol.js';

/** An error the SQLite thread reported, with better-sqlite3's code (SQLITE_BUSY, SQLITE_FULL, …). */
export class SqliteThreadError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'SqliteError';
    this.code = code;
  }
}

/**
 * The worker's entry: the compiled .js next to this file, or under tsx (tests, development)
 * the .ts source, which needs tsx registered in the worker too (a worker does not inherit
 * the parent's --import hooks on Node 20).
 */
function workerSource(): { code: string; workerData: { entry: string; tsx?: string } } {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './sqlite-thread.ts' : './sqlite-thread.js', import.meta.url).href;
  const code = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.boot.tsx) (await import(workerData.boot.tsx)).register();
  await import(workerData.boot.entry);
})();`;
  return { code, workerData: { entry, ...(fromSource ? { tsx: import.meta.resolve('tsx/esm/api') } : {}) } };
}

/** Structured cloning turns a Buffer into a plain Uint8Array; the store's code reads Buffers. */
function withBuffers(rows: unknown[]): unknown[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const key in row) {
      const value = row[key];
      if (value instanceof Uint8Array && !Buffer.isBuffer(value)) row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return rows;
}

/** The SQLite thread seen from the main thread: requests answered in order, by id. */
class SqliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(reply: ThreadReply): void; reject(err: Error): void }>();
  private nextId = 1;
  private failed: Error | undefined;
  private closing = false;
  readonly opened: Promise<void>;
  private readonly exited: Promise<void>;

  constructor(options: ThreadOptions) {
    const { code, workerData } = workerSource();
    this.worker = new Worker(code, { eval: true, workerData: { ...options, boot: workerData } });
    // An idle store must not keep a CLI command's process alive; one with a query waiting must.
    this.worker.unref();
    this.opened = new Promise((resolve, reject) => {
      this.pending.set(0, { resolve: (reply) => ('error' in reply ? reject(this.errorOf(reply)) : resolve()), reject });
      this.worker.ref();
    });
    this.worker.on('message', (replies: ThreadReply[]) => {
      for (const reply of replies) this.settle(reply);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.fail(new Error(`the store's SQLite thread stopped (exit code ${code})`));
        resolve();
      });
    });
  }

  request(request: Omit<Extract<ThreadRequest, { op: 'query' }>, 'id'> | { op: 'close' } | { op: 'io' }): Promise<ThreadReply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.outbox.push({ id, ...request } as ThreadRequest);
      if (this.outbox.length === 1) setImmediate(this.flush);
    });
  }

  /**
   * The requests of one turn of the event loop go as one message, in order. Under load the
   * sessions' statements arrive from many sockets in the same turn, and each message to a
   * thread costs a wake-up of it (measured: postMessage was 13% of the main thread at 20
   * sessions, one per statement).
   */
  private readonly outbox: ThreadRequest[] = [];
  private readonly flush = (): void => {
    const batch = this.outbox.splice(0);
    if (batch.length > 0) this.worker.postMessage(batch);
  };

  errorOf(reply: Extract<ThreadReply, { error: unknown }>): SqliteThreadError {
    return new SqliteThreadError(reply.error.message, reply.error.code);
  }

  private settle(reply: ThreadReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    waiting.resolve(reply);
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const waiting of this.pending.values()) waiting.reject(this.failed);
    this.pending.clear();
  }

  async close(): Promise<void> {
    // Held until the thread has ended, so that a command's process waits for its store to close.
    this.closing = true;
    this.worker.ref();
    if (!this.failed) await this.request({ op: 'close' });
    await this.exited;
  }
}

class ThreadConnection implements DatabaseConnection {
  constructor(private readonly thread: SqliteThread) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.thread.request({ op: 'query', sql: query.sql, parameters: query.parameters });
    if ('error' in reply) throw this.thread.errorOf(reply);
    if ('changes' in reply) {
      return { rows: [], numAffectedRows: BigInt(reply.changes), insertId: BigInt(reply.lastInsertRowid) };
    }
    return { rows: withBuffers(reply.rows) as R[] };
  }

  // biome-ignore lint/correctness/useYield: the store never streams; a stream would hold the one connection across awaits anyway
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite store does not stream queries');
  }
}

/** One connection, as SQLite has: a transaction holds it until it ends, other queries wait their turn. */
class ConnectionMutex {
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;

  async lock(): Promise<void> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  unlock(): void {
    const release = this.release;
    this.held = undefined;
    this.release = undefined;
    release?.();
  }
}

class ThreadDriver implements Driver {
  private readonly mutex = new ConnectionMutex();
  thread: SqliteThread | undefined;
  private connection: ThreadConnection | undefined;

  constructor(private readonly options: ThreadOptions) {}

  async init(): Promise<void> {
    const thread = new SqliteThread(this.options);
    try {
      await thread.opened;
    } catch (err) {
      await thread.close().catch(() => undefined);
      throw err;
    }
    this.thread = thread;
    this.connection = new ThreadConnection(thread);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    if (!this.connection) throw new Error('the SQLite store is closed');
    return this.connection;
  }

  // IMMEDIATE takes the write lock at the start, where busy_timeout waits for it. A deferred
  // BEGIN that reads first and writes later fails at once with SQLITE_BUSY_SNAPSHOT when
  // another process (the CLI, a second gateway) committed in between: no wait can fix a
  // snapshot that is already stale.
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }

  async destroy(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    this.connection = undefined;
    await thread?.close();
  }
}

/**
 * Kysely's SQLite dialect with the connection on a worker thread (sqlite-thread.ts): the
 * same SQL, compiler and adapter, statements run off the event loop.
 */
export class SqliteThreadDialect implements Dialect {
  private driver: ThreadDriver | undefined;

  constructor(private readonly options: ThreadOptions) {}

  createDriver(): Driver {
    this.driver = new ThreadDriver(this.options);
    return this.driver;
  }

  /** The bytes the store has written to storage since it opened (WAL and checkpoints); undefined where that is not known. */
  async writtenBytes(): Promise<number | undefined> {
    const thread = this.driver?.thread;
    if (!thread) return undefined;
    const reply = await thread.request({ op: 'io' });
    const bytes = 'rows' in reply ? (reply.rows[0] as { writeBytes?: number | null } | undefined)?.writeBytes : undefined;
    return typeof bytes === 'number' ? bytes : undefined;
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
