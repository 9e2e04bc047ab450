import type { Kysely } from 'kysely';

/**
 * Administrators of the web console and their sessions; the subject of each message, for the
 * console's message log search (null for secure messages, whose subject is sealed); and the
 * indexes the dashboard's time series need.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('admins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('must_change_password', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_sign_in_at', 'bigint')
    .addColumn('last_sign_in_ip', 'text')
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .execute();
  await db.schema
    .createTable('admin_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('admin_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('messages').addColumn('subject', 'text').execute();
  // The dashboard's 24-hour series and the message log read by time.
  await db.schema.createIndex('messages_received').on('messages').column('received_at').execute();
  await db.schema.createIndex('events_at').on('events').column('at').execute();
}
