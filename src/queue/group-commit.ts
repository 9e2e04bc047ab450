import { coalesce } from '../lib/coalesce.js';
import { StoreNotDurable } from '../model/durability-failure.js';
import type { NewMessage, QueueStore } from './queue-store.js';
import type { Spool } from './spool.js';

export interface GroupCommitter {
  /** Resolves once the message is durable: its directory entry synced and its row committed. */
  commit(message: NewMessage): Promise<void>;
}

/**
 * Group commit: every message that finished its DATA while the previous batch was being
 * written shares the next directory fsync and the next database commit with its WAL sync.
 * The bodies were already fdatasync'ed by their own writers.
 */
export function groupCommitter(spool: Spool, store: QueueStore): GroupCommitter {
  const commit = coalesce(async (batch: NewMessage[]) => {
    await spool.syncDirectory();
    try {
      await store.commit(batch);
    } catch (err) {
      if (err instanceof StoreNotDurable) await removeBodies(spool, batch);
      throw err;
    }
    return batch.map(() => undefined);
  });
  return { commit };
}

/**
 * The store has undone the batch's rows (delete-messages.ts), but whether that undo reaches
 * the disk is what is in doubt: without a body, rows that come back after a power cut are
 * parked, not delivered. The removal gets a directory sync of its own, on the spool's
 * filesystem, which the failed sync of the store's WAL does not tell about. Best effort: a
 * body left behind is an orphan, removed at the next start.
 */
async function removeBodies(spool: Spool, batch: NewMessage[]): Promise<void> {
  try {
    for (const message of batch) await spool.remove(message.id);
    await spool.syncDirectory();
  } catch {
    // The store's own exclusion (commit-ledger.ts) keeps this process from delivering them.
  }
}
