import { sql, type Transaction } from 'kysely';
import type { Database } from '../tables.js';

/** The channel on which PostgreSQL tells every instance's worker that new work is due. */
export const QUEUE_CHANNEL = 'relaygate_queue';

export const ACTIVE = ['queued', 'deferred'] as const;
/** Recipients that keep a message open: still to deliver, or parked for an operator. */
export const OPEN = [...ACTIVE, 'failed'] as const;

/** Tells the other instances that work is due; delivered when the transaction commits, and not before. */
export type Announce = (trx: Transaction<Database>) => Promise<void>;

export function announcer(shared: boolean): Announce {
  return async (trx) => {
    if (shared) await sql`select pg_notify(${QUEUE_CHANNEL} || ':' || current_schema(), '')`.execute(trx);
  };
}
