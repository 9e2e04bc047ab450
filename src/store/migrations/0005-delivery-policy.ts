import type { Kysely } from 'kysely';

/**
 * Direct MX delivery: per recipient domain TLS requirements set by the operator
 * (`relaygate tls-policy`), the evidence of how each recipient was delivered (JSON on its
 * `delivered` event), and what the sender asked of transport security (RFC 8689).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('delivery_policies')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('requirement', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('events').addColumn('evidence', 'text').execute();
  await db.schema.alterTable('messages').addColumn('tls_required', 'text').execute();
}
