import type { QueueStore } from '../queue/queue-store.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import type { OpenStore } from './open-store.js';

/** The queue of an open store, for the `relaygate queue` verbs. */
export function queueOf(store: Pick<OpenStore, 'db' | 'syncCommitted'>): QueueStore {
  return sqlQueueStore(store.db, store.syncCommitted);
}

/** Removes the body of a message deleted from the queue, wherever this store keeps bodies. */
export async function removeBody(store: Pick<OpenStore, 'db'>, dataDir: string, queueId: string): Promise<void> {
  // Imported here: queue list and show read no body, and the spool's writers cost them ~12 ms.
  const { spoolFor } = await import('./open-spool.js');
  return spoolFor(store.db, dataDir).remove(queueId);
}
