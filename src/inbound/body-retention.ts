import type { QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';

const BATCH = 500;

/** Removes the bodies of delivered inbound messages once their download links have run out. */
export async function purgeRetainedBodies(
  queue: Pick<QueueStore, 'retainedBodiesBefore' | 'markBodiesPurged'>,
  spool: Spool,
  before: number,
  now: number,
): Promise<number> {
  let purged = 0;
  for (;;) {
    const ids = await queue.retainedBodiesBefore(before, BATCH);
    for (const id of ids) await spool.remove(id);
    await queue.markBodiesPurged(ids, now);
    purged += ids.length;
    if (ids.length < BATCH) return purged;
  }
}
