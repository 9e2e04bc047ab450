import type { Clock } from '../lib/clock.js';
import type { AttemptRecord, QueueStore } from './queue-store.js';

/**
 * Records delivery attempts in batches: the attempts that finish while one transaction is
 * being written share the next one, as accepted messages share a group commit. Resolves
 * with whether the message is now complete, or undefined when recording failed (the
 * leases then expire and the attempts repeat: at-least-once, never lost).
 */
export function outcomeRecorder(store: QueueStore, clock: Clock, onError: (err: unknown) => void) {
  let pending: { attempt: AttemptRecord; resolve(completed: boolean | undefined): void }[] = [];
  let writing = false;

  async function flush(): Promise<void> {
    writing = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const completed = await store.recordOutcomes(
          batch.map((p) => p.attempt),
          clock.now(),
        );
        for (const p of batch) p.resolve(completed.has(p.attempt.messageId));
      } catch (err) {
        onError(err);
        for (const p of batch) p.resolve(undefined);
      }
    }
    writing = false;
  }

  return {
    record(attempt: AttemptRecord): Promise<boolean | undefined> {
      return new Promise((resolve) => {
        pending.push({ attempt, resolve });
        if (!writing) void flush();
      });
    },
  };
}
