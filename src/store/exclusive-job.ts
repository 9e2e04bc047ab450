import { sql } from 'kysely';
import { engineOf } from './engine.js';
import type { Db } from './tables.js';
import { transact } from './transact.js';

/**
 * Runs a periodic job on one instance at a time. Sweeps (connection checks, retention,
 * DKIM key checks) are safe to repeat but not to run twice at once: two instances would
 * each send a verification mail. On PostgreSQL a transaction-scoped advisory lock names the
 * job; whoever does not get it skips this round. The embedded store has one instance.
 */
export async function exclusively(db: Db, name: string, job: () => Promise<void>): Promise<void> {
  if (engineOf(db) !== 'postgres') return job();
  await transact(db, async (trx) => {
    const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_xact_lock(hashtext(${`relaygate:${name}`})) as got`.execute(trx);
    if (rows[0]?.got) await job();
  });
}
