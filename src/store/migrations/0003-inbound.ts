import type { Kysely } from 'kysely';

/**
 * The inbound leg: where an organisation's (or one domain's) inbound mail goes, what the
 * gateway learnt about each inbound message, the verification round trips of both legs,
 * and the connector state of a domain (connected, draining for a disconnect, disconnected).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('messages')
    .addColumn('direction', 'text', (c) => c.notNull().defaultTo('outbound'))
    .execute();
  await db.schema.alterTable('messages').addColumn('body_purged_at', 'bigint').execute();
  await db.schema
    .alterTable('domains')
    .addColumn('connector_state', 'text', (c) => c.notNull().defaultTo('connected'))
    .execute();
  await db.schema.alterTable('domains').addColumn('connector_changed_at', 'bigint').execute();

  await db.schema
    .createTable('inbound_messages')
    .addColumn('message_id', 'text', (c) => c.primaryKey().references('messages.id').onDelete('cascade'))
    .addColumn('relay', 'text', (c) => c.notNull())
    .addColumn('authentication_results', 'text', (c) => c.notNull())
    .addColumn('authentication', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('inbound_targets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('scope', 'text', (c) => c.notNull().unique())
    .addColumn('domain_id', 'text', (c) => c.references('domains.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('forward_to', 'text')
    .addColumn('synchronous', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('secret_sealed', 'text')
    .addColumn('previous_secret_sealed', 'text')
    .addColumn('previous_secret_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('leg_checks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('leg', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('queue_id', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('leg_checks_domain').on('leg_checks').columns(['domain_id', 'leg', 'started_at']).execute();
  await db.schema.createIndex('leg_checks_pending').on('leg_checks').columns(['status', 'deadline_at']).execute();
}
