import type { Kysely } from 'kysely';

/**
 * Issue 22: read receipts as today's text mail or as RFC 8098 disposition notifications, for
 * applications that file receipts by parsing them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('organisations')
    .addColumn('read_receipt_format', 'text', (c) => c.notNull().defaultTo('text'))
    .execute();
}
