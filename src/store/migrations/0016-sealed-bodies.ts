import type { Kysely } from 'kysely';

/**
 * Bodies the gateway keeps about a secure message — portal replies, read receipts,
 * non-delivery reports and inbound mail to a secure address — are stored like the secure
 * message itself: ciphertext in the spool under a data key of their own, kept here only
 * sealed by the key-encryption key. `secure_message_id` names the message a body answers,
 * so shredding that message deletes these keys too. `secure_message_refs` finds that
 * message from a reply's In-Reply-To/References: keyed hashes of the Message-IDs only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sealed_bodies')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('secure_message_id', 'text')
    .addColumn('data_key_sealed', 'text', (c) => c.notNull())
    .addColumn('body_iv', 'text', (c) => c.notNull())
    .addColumn('body_tag', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sealed_bodies_secure_message').on('sealed_bodies').column('secure_message_id').execute();
  await db.schema
    .createTable('secure_message_refs')
    .addColumn('ref_hash', 'text', (c) => c.primaryKey())
    .addColumn('secure_message_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('secure_message_refs_message').on('secure_message_refs').column('secure_message_id').execute();
}
