import type { Clock } from '../lib/clock.js';
import { coalesce } from '../lib/coalesce.js';
import { retryWithBackoff } from '../lib/retry.js';
import type { AttemptRecord, QueueStore } from './queue-store.js';

/**
 * Records delivery attempts in batches, as accepted messages share a group commit.
 * Resolves with whether the message is now complete, or undefined when recording failed
 * (the leases then expire and the attempts repeat: at-least-once, never lost).
 * A failed write is tried again for a few seconds first: the delivery has happened, and a
 * database connection lost in a restart or failover is back within that time, so the
 * message is not delivered a second time once its lease runs out.
 */
/** 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s: about six seconds, well within the shortest sensible lease. */
export const RECORD_RETRIES = { tries: 6, initialMs: 200 };

export function outcomeRecorder(store: QueueStore, clock: Clock, onError: (err: unknown) => void) {
  const write = coalesce(async (batch: AttemptRecord[]) => {
    const completed = await store.recordOutcomes(batch, clock.now());
    return batch.map((attempt) => completed.has(attempt.messageId));
  });
  return {
    record(attempt: AttemptRecord): Promise<boolean | undefined> {
      return retryWithBackoff(() => write(attempt), RECORD_RETRIES).catch((err: unknown) => {
        onError(err);
        return undefined;
      });
    },
  };
}
