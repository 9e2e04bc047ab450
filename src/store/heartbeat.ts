import type { Db } from './tables.js';

/**
 * Proves the store writable the way accepting a message needs it: an UPSERT that commits,
 * then the WAL sync a 250 waits for. A write transaction rolled back would prove less: it
 * takes the lock but writes nothing to the WAL, so a full disk or a file-size limit would
 * pass it, and the next message would be the first to find out. One row, a few bytes per
 * probe; the WAL checkpoints it away like any other commit.
 */
export async function writeHeartbeat(db: Db, syncCommitted: () => Promise<void>, now: number): Promise<void> {
  await db
    .insertInto('health_heartbeat')
    .values({ id: 'readiness', beat_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ beat_at: now }))
    .execute();
  await syncCommitted();
}
