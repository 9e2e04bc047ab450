import type { Kysely } from 'kysely';

/**
 * The sandbox mailbox: what the gateway would have sent, kept instead of sent. The raw
 * message lives in a file beside the spool; this row says where it would have gone and why.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sandbox_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('captured_at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('queue_id', 'text', (c) => c.notNull())
    .addColumn('mail_from', 'text', (c) => c.notNull())
    .addColumn('recipients', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('dkim', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sandbox_messages_captured').on('sandbox_messages').column('captured_at').execute();
}
