import type { Kysely } from 'kysely';

/**
 * One row per prober, rewritten by every readiness check (src/store/heartbeat.ts): a real
 * commit is the only proof that the store can take the next message.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('health_heartbeat')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('beat_at', 'bigint', (c) => c.notNull())
    .execute();
}
