import type { Clock } from '../lib/clock.js';
import { coalesce } from '../lib/coalesce.js';
import type { AttemptRecord, QueueStore } from './queue-store.js';

/**
 * Records delivery attempts in batches, as accepted messages share a group commit.
 * Resolves with whether the message is now complete, or undefined when recording failed
 * (the leases then expire and the attempts repeat: at-least-once, never lost).
 */
export function outcomeRecorder(store: QueueStore, clock: Clock, onError: (err: unknown) => void) {
  const write = coalesce(async (batch: AttemptRecord[]) => {
    const completed = await store.recordOutcomes(batch, clock.now());
    return batch.map((attempt) => completed.has(attempt.messageId));
  });
  return {
    record(attempt: AttemptRecord): Promise<boolean | undefined> {
      return write(attempt).catch((err: unknown) => {
        onError(err);
        return undefined;
      });
    },
  };
}
