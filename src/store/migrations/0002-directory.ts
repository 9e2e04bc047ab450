import { type Kysely, sql } from 'kysely';

import { DEFAULT_ORGANISATION_ID } from '../../model/organisation.js';

/**
 * The administrative model: organisations, claimed domains, addresses and aliases, the full
 * credential model, routes, outbound connections, API tokens and the hash-chained audit log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('organisations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('default_route_action', 'text', (c) => c.notNull().defaultTo('relay'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into organisations (id, name, default_route_action, created_at) values (${DEFAULT_ORGANISATION_ID}, 'Default organisation', 'relay', ${Date.now()})`.execute(
    db,
  );

  await db.schema
    .createTable('domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('verification_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('verified_at', 'bigint')
    .addColumn('verified_by', 'text')
    .addColumn('last_check_at', 'bigint')
    .addColumn('last_check_result', 'text')
    .execute();

  await db.schema
    .createTable('addresses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('address_aliases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('address_id', 'text', (c) => c.notNull().references('addresses.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .alterTable('credentials')
    .addColumn('organisation_id', 'text', (c) => c.notNull().defaultTo(DEFAULT_ORGANISATION_ID))
    .execute();
  await db.schema.alterTable('credentials').addColumn('domain_id', 'text').execute();
  await db.schema.alterTable('credentials').addColumn('allowed_senders', 'text').execute();
  await db.schema.alterTable('credentials').addColumn('allowed_networks', 'text').execute();
  await db.schema.alterTable('credentials').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('credentials').addColumn('max_messages_per_hour', 'integer').execute();
  await db.schema.alterTable('credentials').addColumn('retire_at', 'bigint').execute();
  await db.schema.alterTable('credentials').addColumn('retirement_set_at', 'bigint').execute();

  await db.schema
    .createTable('routes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('match', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('scope_kind', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull().unique())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('tls_mode', 'text', (c) => c.notNull())
    .addColumn('username', 'text')
    .addColumn('secret_sealed', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('last_used_ip', 'text')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_ip', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}
