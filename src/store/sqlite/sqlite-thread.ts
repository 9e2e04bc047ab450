import { readFileSync } from 'node:fs';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3Type from 'better-sqlite3';
import { BetterSqlite3 } from './driver.js';
import type { ThreadOptions, ThreadReply, ThreadRequest } from './thread-protocol.js';

/**
 * The store's SQLite connection lives on this thread: better-sqlite3 runs every statement
 * synchronously, and its busy wait for a lock another process holds (a backup, the CLI, a
 * long `BEGIN EXCLUSIVE`) would otherwise freeze the gateway's event loop, greetings and
 * health checks included. Statements run one at a time in the order they arrive; the
 * dialect on the main thread keeps transactions whole (thread-dialect.ts).
 */
const options = workerData as ThreadOptions;
const port = parentPort;
if (!port) throw new Error('sqlite-thread.ts runs as a worker thread');

const PAGE_BYTES = 1024;
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;

function open(): BetterSqlite3Type.Database {
  const db = new BetterSqlite3(options.path);
  try {
    // Before the first write only: a new store gets 1 KiB pages, an existing one keeps its own.
    // Every commit writes each page it touched to the WAL whole; a queued message touches a
    // dozen pages (its rows and their index entries), so small pages cut the bytes written
    // per message by about three, for B-trees a level deeper.
    db.pragma(`page_size = ${PAGE_BYTES}`);
    db.pragma('journal_mode = WAL');
    // SQLite checkpoints every 1000 pages: with 1 KiB pages that would be four times as often
    // as with the 4 KiB of older stores, each rewriting the hot pages into the database file.
    db.pragma(`wal_autocheckpoint = ${Math.round(CHECKPOINT_WAL_BYTES / Number(db.pragma('page_size', { simple: true })))}`);
    // Commits are made durable where a promise depends on them, by one shared fdatasync (open.ts).
    db.pragma('synchronous = NORMAL');
    busyTimeout(db, options.busyTimeoutMs);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Kysely prepares every query anew; preparing is most of the cost of a small statement. The
 * gateway runs the same few dozen statements over and over, so they are kept by their SQL
 * text (bounded, oldest dropped first).
 */
const MAX_STATEMENTS = 500;
const statements = new Map<string, BetterSqlite3Type.Statement>();

function prepared(sqlite: BetterSqlite3Type.Database, sql: string): BetterSqlite3Type.Statement {
  const cached = statements.get(sql);
  if (cached) return cached;
  const statement = sqlite.prepare(sql);
  if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value as string);
  statements.set(sql, statement);
  return statement;
}

/** Structured cloning turns a Buffer into a plain Uint8Array, which better-sqlite3 does not bind. */
function bindable(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

/**
 * Once a statement has waited the whole busy timeout in vain, the lock is held for long (a
 * backup, a long transaction): the statements queued behind it then wait briefly each, so
 * that a queue of writers fails within seconds rather than one busy timeout each. The first
 * write that succeeds ends this.
 */
const CONTENDED_BUSY_TIMEOUT_MS = 250;
let contended = false;

function busyTimeout(sqlite: BetterSqlite3Type.Database, ms: number): void {
  sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
}

function run(sqlite: BetterSqlite3Type.Database, sql: string, parameters: readonly unknown[]): Omit<ThreadReply, 'id'> {
  const statement = prepared(sqlite, sql);
  const values = parameters.map(bindable);
  try {
    let reply: Omit<ThreadReply, 'id'>;
    if (statement.reader) reply = { rows: statement.all(values) };
    else {
      const { changes, lastInsertRowid } = statement.run(values);
      reply = { rows: [], changes, lastInsertRowid };
    }
    if (contended && !statement.readonly) {
      contended = false;
      busyTimeout(sqlite, options.busyTimeoutMs);
    }
    return reply;
  } catch (err) {
    if (!contended && String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) {
      contended = true;
      busyTimeout(sqlite, Math.min(CONTENDED_BUSY_TIMEOUT_MS, options.busyTimeoutMs));
    }
    throw err;
  }
}

/**
 * Every write of the store, its WAL appends and its checkpoints, is made by this thread, so
 * its own I/O account is the store's (spool files are written from libuv's pool threads).
 */
function writtenBytes(): number | null {
  try {
    const line = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/thread-self/io', 'latin1'));
    return line?.[1] === undefined ? null : Number(line[1]);
  } catch {
    return null;
  }
}

function failure(id: number, err: unknown): ThreadReply {
  const { message, code } = err as { message?: string; code?: unknown };
  return { id, error: { message: String(message ?? err), ...(typeof code === 'string' ? { code } : {}) } };
}

/** The answers of one batch go back as one message, as the batch came (thread-dialect.ts). */
function serve(sqlite: BetterSqlite3Type.Database, channel: MessagePort): void {
  channel.on('message', (batch: ThreadRequest[]) => {
    const replies: ThreadReply[] = [];
    for (const request of batch) {
      if (request.op === 'close') {
        sqlite.close();
        replies.push({ id: request.id, rows: [] });
        channel.postMessage(replies);
        channel.close();
        return;
      }
      replies.push(answer(sqlite, request));
    }
    channel.postMessage(replies);
  });
}

function answer(sqlite: BetterSqlite3Type.Database, request: Exclude<ThreadRequest, { op: 'close' }>): ThreadReply {
  if (request.op === 'io') return { id: request.id, rows: [{ writeBytes: writtenBytes() }] };
  try {
    return { id: request.id, ...run(sqlite, request.sql, request.parameters) } as ThreadReply;
  } catch (err) {
    return failure(request.id, err);
  }
}

// Request 0 is the opening: its answer says whether the file opened (a missing directory,
// a file that is not a database, a lock held through the journal-mode change).
try {
  const sqlite = open();
  port.postMessage([{ id: 0, rows: [] }] satisfies ThreadReply[]);
  serve(sqlite, port);
} catch (err) {
  port.postMessage([failure(0, err)]);
  port.close();
}
