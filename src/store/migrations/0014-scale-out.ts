import type { Kysely } from 'kysely';
import { bytesType } from './portable.js';

/**
 * Message bodies in the store itself, for PostgreSQL, where instances on several machines
 * share no disk (the embedded engine keeps them as files in the spool); counters that
 * rate limits and AUTH throttling share across instances; and what proves that instances
 * sharing the store hold the same keys.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('message_bodies')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('chunk', bytesType(db), (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('message_bodies_pk', ['message_id', 'seq'])
    .execute();
  await db.schema
    .createTable('rate_counters')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_counters_pk', ['scope', 'key', 'bucket'])
    .execute();
  await db.schema.createIndex('rate_counters_bucket').on('rate_counters').column('bucket').execute();
  await db.schema.alterTable('sandbox_messages').addColumn('raw', bytesType(db)).execute();
  await db.schema
    .createTable('key_checks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
