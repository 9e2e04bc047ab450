import type { Clock } from '../lib/clock.js';

const MINUTE_MS = 60_000;
const MINUTES_PER_HOUR = 60;

/**
 * Counts messages per credential over the last hour, in one-minute buckets: 60 counters
 * per credential whatever its limit, exact to within the current minute. A transaction
 * counts when its MAIL FROM is admitted, so parallel sessions of one credential cannot
 * overshoot the limit together; a transaction refused later still counts, erring on the
 * side of the limit.
 *
 * The counts live in this process's memory: a restart forgets them, and gateways sharing
 * one database (roles on PostgreSQL) each allow the full limit. Good enough for one
 * embedded instance; a shared counter belongs in the store once several instances exist.
 */
export class MessageRate {
  private readonly clock: Clock;
  private readonly windows = new Map<string, { minutes: number[]; counts: number[] }>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Counts one message for `key` if fewer than `perHour` were counted in the last hour. */
  admit(key: string, perHour: number): boolean {
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    const window = this.windowOf(key);
    let total = 0;
    for (let i = 0; i < MINUTES_PER_HOUR; i++) {
      if (minute - (window.minutes[i] as number) < MINUTES_PER_HOUR) total += window.counts[i] as number;
    }
    if (total >= perHour) return false;
    const slot = minute % MINUTES_PER_HOUR;
    if (window.minutes[slot] !== minute) {
      window.minutes[slot] = minute;
      window.counts[slot] = 0;
    }
    window.counts[slot] = (window.counts[slot] as number) + 1;
    return true;
  }

  private windowOf(key: string): { minutes: number[]; counts: number[] } {
    let window = this.windows.get(key);
    if (!window) {
      window = { minutes: Array<number>(MINUTES_PER_HOUR).fill(Number.NEGATIVE_INFINITY), counts: Array<number>(MINUTES_PER_HOUR).fill(0) };
      this.windows.set(key, window);
    }
    return window;
  }
}
