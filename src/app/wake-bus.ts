/**
 * Wakes this instance's queue worker when work is queued here: mail accepted over SMTP, codes,
 * replies and read receipts from the portal, a retry from the console. Those parts are built
 * before the worker; until it is attached (and always on a role without one) a wake does
 * nothing, and the work waits for a worker's first poll.
 */
export interface WakeBus {
  wake(): void;
  /** The worker, once it has started. */
  attach(worker: { wake(): void }): void;
}

export function wakeBus(): WakeBus {
  let worker: { wake(): void } | undefined;
  return {
    wake: () => worker?.wake(),
    attach(started) {
      worker = started;
    },
  };
}
