import { closeSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Kysely } from 'kysely';
import { fsyncDirectory } from '../../lib/durable-file.js';
import { formatSizeBytes } from '../../lib/sizes.js';
import { provenDurability, type StoreDurability } from '../durability.js';
import { migrateToLatest } from '../migrations/index.js';
import type { Database, Db } from '../tables.js';
import { SqliteThreadDialect } from './thread-dialect.js';
import { verifiedCheckpoint, withheldCheckpoints } from './verified-checkpoint.js';
import { walSyncer } from './wal-sync.js';

export interface SqliteStore {
  db: Db;
  /**
   * Makes every transaction committed so far durable (fdatasync of the WAL, off the event
   * loop). Commits are not synced one by one (synchronous=NORMAL): only those that promise
   * something to a client, the acceptance of a message, wait for this.
   */
  syncCommitted(): Promise<void>;
  /** After a failed WAL sync: not durable until a verified checkpoint (verified-checkpoint.ts). */
  durability: StoreDurability;
  /** Bytes the store has had written to storage since it opened (src/store/sqlite/sqlite-thread.ts); undefined off Linux. */
  writtenBytes(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * How long a statement waits for a lock held by another process (the CLI, a backup, a long
 * `BEGIN EXCLUSIVE`) before failing with SQLITE_BUSY: a message then gets `451 4.3.0` and is
 * retried by its client, rather than every session waiting on it. The wait happens on the
 * store's own thread, so greetings and health checks go on meanwhile.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the embedded store, its connection on a thread of its own (sqlite-thread.ts). WAL
 * lets the CLI read and write while the gateway runs. With synchronous=FULL every commit
 * would fsync the WAL: measured here, that and statement preparation were a third of the
 * gateway's CPU at 20 concurrent sessions. NORMAL commits survive a process crash (kill -9);
 * syncCommitted() adds power-loss durability where a 250 depends on it, and group commit
 * shares that one fdatasync among messages.
 */
export async function openSqlite(path: string, options: { proveLeftoverWal?: boolean } = {}): Promise<SqliteStore> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  ownerOnly(path);
  const leftoverWalBytes = sizeOf(`${path}-wal`);
  const dialect = new SqliteThreadDialect({ path, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS });
  const db = new Kysely<Database>({ dialect });
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  // The database and WAL files must themselves be reachable after a power loss.
  await fsyncDirectory(dirname(path));
  const wal = walSyncer(`${path}-wal`);
  const durability = provenDurability({ sync: () => wal.sync(), syncName: `fdatasync of ${basename(path)}-wal`, prove: () => verifiedCheckpoint(db, path) });
  withheldCheckpoints(db, durability);
  // SQLite removes the WAL once the last connection's checkpoint succeeded: one left over
  // means the last run was killed, or even that checkpoint failed. What it synced is not
  // trusted: a page whose writeback failed then is clean in the page cache now, and this
  // process's first fdatasync would return 0 without writing it.
  if (options.proveLeftoverWal && leftoverWalBytes > 0)
    await durability.proveFirst(`verified checkpoint of the WAL left by the last run (${formatSizeBytes(leftoverWalBytes)})`);
  return {
    db,
    syncCommitted: durability.syncCommitted,
    durability,
    writtenBytes: () => dialect.writtenBytes(),
    async close() {
      await durability.close();
      await db.destroy();
      wal.close();
    },
  };
}

/**
 * The database holds every address, message log and sealed secret: it is created 0600, and
 * an existing file readable by others is made so. SQLite gives the -wal and -shm files it
 * creates the mode of the database file (unix VFS, robust_open), so they are 0600 too,
 * whatever the process umask; SQLite alone would create all three 0644 less the umask (0666
 * under umask 000).
 */
function ownerOnly(path: string): void {
  const fd = openSync(path, 'a', 0o600);
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** The size of a file, 0 when there is none. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
