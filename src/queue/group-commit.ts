import { coalesce } from '../lib/coalesce.js';
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
    await store.commit(batch);
    return batch.map(() => undefined);
  });
  return { commit };
}
