import type { Clock } from '../../lib/clock.js';
import type { RequestCounters } from '../../portal/request-limits.js';
import { SharedWindow } from '../shared-counters.js';
import type { Db } from '../tables.js';

/** The portal's request counters: a shared window per scope in rate_counters (src/store/shared-counters.ts). */
export function sqlRequestCounters(db: Db, clock: Clock): RequestCounters {
  return (window) => new SharedWindow(db, window, clock);
}
