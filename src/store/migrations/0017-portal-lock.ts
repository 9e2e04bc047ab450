import type { Kysely } from 'kysely';

/**
 * The lifetime count of wrong one-time codes per portal link, and when the link locked: a
 * link that has seen too many wrong codes opens no more until the sender or an admin
 * unlocks it (src/portal/link-lock.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('secure_recipients')
    .addColumn('otp_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('secure_recipients').addColumn('locked_at', 'bigint').execute();
}
