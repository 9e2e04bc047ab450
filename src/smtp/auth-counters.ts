import type { Clock } from '../lib/clock.js';

/** Counts per key in a window of time buckets: the current bucket and the ones before it, so the window slides a bucket at a time. */
export interface CounterWindow {
  /** Counts `by` (one unless given) for `key` now. */
  add(key: string, by?: number): Promise<void>;
  /** The count of `key` in the window ending now. */
  count(key: string): Promise<number>;
}

export interface WindowShape {
  /** Names the kind of key (e.g. `smtp-auth-ip`): windows of different shapes need different scopes. */
  scope: string;
  bucketMs: number;
  buckets: number;
}

/** The counters the AUTH throttles keep in the store (src/store/shared-counters.ts). */
export interface SharedCounters {
  /** Whether several instances share the store (PostgreSQL): a limit then holds for all only if counted there. */
  readonly shared: boolean;
  /** A window in the store, counted together by every instance on it. */
  window(shape: WindowShape, clock: Clock): CounterWindow;
}
