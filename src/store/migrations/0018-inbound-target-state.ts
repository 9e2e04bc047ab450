import type { Kysely } from 'kysely';

/**
 * A webhook target whose endpoint answered 410 Gone is disabled until an administrator
 * enables it again (src/directory/inbound-targets.ts): when, and the answer that did it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('inbound_targets').addColumn('disabled_at', 'bigint').execute();
  await db.schema.alterTable('inbound_targets').addColumn('disabled_reason', 'text').execute();
}
