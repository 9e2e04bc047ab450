import { sql } from 'kysely';
import type { StoreDurability } from '../durability.js';
import type { Db } from '../tables.js';
import { checkWalFrames } from './wal-frames.js';

/**
 * Proves the embedded store durable again after a failed sync of its WAL. A later fdatasync
 * of the WAL cannot: after a writeback error Linux marks the failed pages clean, so the next
 * fdatasync has nothing to write and returns 0 while those frames may not be on the disk.
 *
 * A TRUNCATE checkpoint does not depend on them reaching it: it copies every frame's page,
 * read from the WAL, into the database file, fsyncs that file, and only then empties the
 * WAL. What it reads must be what SQLite wrote, which the checkpoint does not check: the
 * frames are checked first against their checksum chain (wal-frames.ts), as recovery would.
 * A frame that fails means the page cache lost what failed to write: no checkpoint can
 * prove the store then, only SQLite's recovery at the next start, which keeps the WAL up to
 * its last intact frame (the gateway ends at once for it, app/damaged-wal.ts).
 *
 * The checkpoint counts only if it copied every frame (busy 0, checkpointed = log): a reader
 * that kept it from the end leaves frames that only the WAL holds (a reader of another
 * process that outlasts the busy timeout: the proof is retried). quick_check then reads every page back and checks the b-trees; index
 * contents are left to integrity_check, whose cost grows with the store and holds its one
 * connection meanwhile. After this, the database file alone holds every commit, the
 * compensations of the failed commits included.
 */
export async function verifiedCheckpoint(db: Db, path: string): Promise<void> {
  // One connection throughout: nothing of this process appends to the WAL between the check and the checkpoint.
  await db.connection().execute(async (conn) => {
    checkWalFrames(`${path}-wal`, `${path}-shm`);
    await checkpointWholeWal(conn);
    const check = await sql<{ quick_check: string }>`pragma quick_check`.execute(conn);
    const problems = check.rows.map((r) => r.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') throw new Error(`quick_check after the checkpoint: ${problems.slice(0, 3).join('; ')}`);
  });
}

async function checkpointWholeWal(conn: Db): Promise<void> {
  const { rows } = await sql<{ busy: number; log: number; checkpointed: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(conn);
  const result = rows[0];
  if (!result) throw new Error('checkpoint gave no result');
  if (result.busy !== 0 || result.log < 0 || result.checkpointed !== result.log)
    throw Object.assign(
      new Error(`checkpoint incomplete (busy ${result.busy}, ${result.checkpointed} of ${result.log} WAL frames copied): another connection held it back`),
      { code: 'SQLITE_BUSY' },
    );
}

/**
 * While the store is not durable, the verified checkpoint is the only one this connection
 * makes: SQLite's automatic checkpoints copy frames unchecked, and a stale frame copied into
 * the database file cannot be taken back.
 */
export function withheldCheckpoints(db: Db, durability: Pick<StoreDurability, 'onChange'>): void {
  let automatic: number | undefined;
  durability.onChange((event) => {
    if (event.kind === 'lost')
      void setAutomaticCheckpoints(db, 0).then((was) => {
        automatic ??= was;
      });
    else if (event.kind === 'proven' && automatic !== undefined) void setAutomaticCheckpoints(db, automatic);
  });
}

/** Sets wal_autocheckpoint (pages); returns what it was, or undefined when the store did not answer. */
async function setAutomaticCheckpoints(db: Db, pages: number): Promise<number | undefined> {
  try {
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
    await sql.raw(`pragma wal_autocheckpoint = ${Math.max(0, Math.trunc(pages))}`).execute(db);
    return rows[0]?.wal_autocheckpoint;
  } catch {
    return undefined;
  }
}
