import type { HourlyMessageRate } from '../../directory/message-rate.js';
import type { Clock } from '../../lib/clock.js';
import { SharedWindow } from '../shared-counters.js';
import type { Db } from '../tables.js';
import { MINUTE_MS, MINUTES_PER_HOUR } from './minutes.js';

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
