import type { Kysely } from 'kysely';

/**
 * Secure messages: the body lives in the spool encrypted under a data key of its own, which
 * is kept here only wrapped by the key-encryption key; deleting that wrapped key shreds the
 * message. Recipients reach it through the portal with a token and a mailed one-time code,
 * or receive it directly when their domain is flagged for inbound direct delivery.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('secure_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('data_key_sealed', 'text')
    .addColumn('body_iv', 'text', (c) => c.notNull())
    .addColumn('body_tag', 'text', (c) => c.notNull())
    .addColumn('meta_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retain_until', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('shredded_at', 'bigint')
    .execute();
  await db.schema.createIndex('secure_messages_retention').on('secure_messages').columns(['shredded_at', 'retain_until']).execute();

  await db.schema
    .createTable('secure_recipients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_sealed', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('delivered_via', 'text')
    .addColumn('fallback_reason', 'text')
    .addColumn('evidence', 'text')
    .addColumn('notified_at', 'bigint')
    .addColumn('opened_at', 'bigint')
    .addColumn('replied_at', 'bigint')
    .addColumn('bounced_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('otp_hash', 'text')
    .addColumn('otp_expires_at', 'bigint')
    .addColumn('otp_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('otp_sent_at', 'bigint')
    .execute();
  await db.schema.createIndex('secure_recipients_message').on('secure_recipients').columns(['message_id', 'address']).execute();

  await db.schema
    .createTable('portal_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .alterTable('organisations')
    .addColumn('secure_retention_days', 'integer', (c) => c.notNull().defaultTo(90))
    .execute();
  await db.schema
    .alterTable('organisations')
    .addColumn('read_receipts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('organisations')
    .addColumn('neutral_subject', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('domains')
    .addColumn('direct_delivery', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('domains').addColumn('direct_delivery_changed_at', 'bigint').execute();
}
