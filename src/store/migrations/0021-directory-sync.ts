import type { Kysely } from 'kysely';

/**
 * Directory sync (issue 24): each address says who owns it, so that a sync never changes or
 * removes one entered by hand; a suspended one (a deactivated directory user) stays but is not
 * a sender. API tokens get a scope: a SCIM token provisions addresses and nothing else.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('addresses')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('manual'))
    .execute();
  await db.schema.alterTable('addresses').addColumn('external_id', 'text').execute();
  await db.schema.alterTable('addresses').addColumn('suspended_at', 'bigint').execute();
  await db.schema
    .alterTable('api_tokens')
    .addColumn('scope', 'text', (c) => c.notNull().defaultTo('admin'))
    .execute();
}
