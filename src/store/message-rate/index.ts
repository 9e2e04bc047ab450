import type { HourlyMessageRate } from '../../directory/message-rate.js';
import type { Clock } from '../../lib/clock.js';
import { engineOf } from '../engine.js';
import { SharedWindow } from '../shared-counters.js';
import type { Db } from '../tables.js';

const MINUTE_MS = 60_000;
const MINUTES_PER_HOUR = 60;

/**
 * The count for the store's engine: in memory on SQLite, where one instance owns the store
 * and a message costs no write for its count; in the store on PostgreSQL, where instances
 * share the store and each would otherwise allow the full limit.
 */
export function sqlMessageRate(db: Db, clock: Clock): HourlyMessageRate {
  return engineOf(db) === 'postgres' ? new SharedMessageRate(db, clock) : new MessageRate(clock);
}

/** In rate_counters: a count and its check are one step for all instances (SharedWindow.addWithin). */
export class SharedMessageRate implements HourlyMessageRate {
  private readonly window: SharedWindow;

  constructor(db: Db, clock: Clock) {
    this.window = new SharedWindow(db, { scope: 'messages-per-credential', bucketMs: MINUTE_MS, buckets: MINUTES_PER_HOUR }, clock);
  }

  tryAdmit(key: string, perHour: number): Promise<boolean> {
    return this.window.addWithin(key, perHour);
  }
}

/**
 * In this process's memory: a restart forgets the counts, which is acceptable for the one
 * embedded instance. Also answers synchronously (admit).
 */
export class MessageRate implements HourlyMessageRate {
  private readonly clock: Clock;
  private readonly windows = new Map<string, { minutes: number[]; counts: number[] }>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  async tryAdmit(key: string, perHour: number): Promise<boolean> {
    return this.admit(key, perHour);
  }

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
