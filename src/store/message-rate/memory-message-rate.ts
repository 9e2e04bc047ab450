import type { HourlyMessageRate } from '../../directory/message-rate.js';
import type { Clock } from '../../lib/clock.js';
import { MINUTE_MS, MINUTES_PER_HOUR } from './minutes.js';

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
