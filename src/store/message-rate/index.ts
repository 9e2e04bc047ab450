import type { HourlyMessageRate } from '../../directory/message-rate.js';
import type { Clock } from '../../lib/clock.js';
import { engineOf } from '../engine.js';
import type { Db } from '../tables.js';
import { MessageRate } from './memory-message-rate.js';
import { SharedMessageRate } from './shared-message-rate.js';

export { MessageRate } from './memory-message-rate.js';
export { SharedMessageRate } from './shared-message-rate.js';

/**
 * The count for the store's engine: in memory on SQLite, where one instance owns the store
 * and a message costs no write for its count; in the store on PostgreSQL, where instances
 * share the store and each would otherwise allow the full limit.
 */
export function sqlMessageRate(db: Db, clock: Clock): HourlyMessageRate {
  return engineOf(db) === 'postgres' ? new SharedMessageRate(db, clock) : new MessageRate(clock);
}
