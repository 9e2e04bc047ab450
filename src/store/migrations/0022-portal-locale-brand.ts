import type { Kysely } from 'kysely';
import { bytesType } from './portable.js';

/**
 * Issue 22: the language a secure message was written in (its Content-Language, RFC 3282),
 * in the clear so that even the page of a shredded message speaks it; the organisation's
 * default language, time zone and branding (name, logo, accent colour); and the recipient's replies
 * from the portal, sealed under the message's own data key so that the thread shown after
 * the code goes when the message is shredded.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('secure_messages').addColumn('language', 'text').execute();
  await db.schema
    .alterTable('organisations')
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('en'))
    .execute();
  await db.schema
    .alterTable('organisations')
    .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('UTC'))
    .execute();
  await db.schema.alterTable('organisations').addColumn('brand_name', 'text').execute();
  await db.schema.alterTable('organisations').addColumn('brand_colour', 'text').execute();
  await db.schema.alterTable('organisations').addColumn('brand_logo', bytesType(db)).execute();
  await db.schema.alterTable('organisations').addColumn('brand_logo_type', 'text').execute();
  await db.schema
    .createTable('secure_portal_replies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('content_sealed', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('secure_portal_replies_recipient').on('secure_portal_replies').columns(['recipient_id', 'created_at']).execute();
  await db.schema.createIndex('secure_portal_replies_message').on('secure_portal_replies').column('message_id').execute();
}
