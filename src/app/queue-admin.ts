import type { QueueStore } from '../queue/queue-store.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { spoolFor } from './open-spool.js';
import type { OpenStore } from './open-store.js';

/** The queue of an open store, for the `relaygate queue` verbs. */
export function queueOf(store: Pick<OpenStore, 'db' | 'syncCommitted'>): QueueStore {
  return sqlQueueStore(store.db, store.syncCommitted);
}

/** Removes the body of a message deleted from the queue, wherever this store keeps bodies. */
export function removeBody(store: Pick<OpenStore, 'db'>, dataDir: string, queueId: string): Promise<void> {
  return spoolFor(store.db, dataDir).remove(queueId);
}
