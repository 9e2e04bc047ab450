import { type Kysely, sql } from 'kysely';
import { engineOf } from '../engine.js';

/**
 * Issue 21: the directory a session reads (credentials, domains, routes, organisations, DKIM
 * keys, inbound targets) is cached in each gateway process (src/app/directory-cache.ts).
 * Every change to those tables, by whichever process or instance, bumps one version row in
 * the same transaction,
 * and on PostgreSQL notifies `relaygate_directory:<schema>` at its commit, so that a
 * revocation reaches every cache at once. The credentials' last-use columns are written for
 * every session (batched) and are not directory data: an update that changes them is not a
 * change (the store writes them alone, src/store/credentials/index.ts).
 */
const DIRECTORY_TABLES = ['credentials', 'domains', 'routes', 'organisations', 'dkim_keys', 'inbound_targets'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('directory_version')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into directory_version (id, version) values (1, 0)`.execute(db);
  if (engineOf(db) === 'postgres') await postgresTriggers(db);
  else await sqliteTriggers(db);
}

/** An update of credentials that leaves the last-use columns as they were; SQLite knows `is not distinct from` since 3.39. */
const NOT_A_LAST_USE = sql.raw('old.last_used_at is not distinct from new.last_used_at and old.last_used_ip is not distinct from new.last_used_ip');

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  await sql`create function relaygate_directory_changed() returns trigger language plpgsql as $$
    begin
      update directory_version set version = version + 1 where id = 1;
      perform pg_notify('relaygate_directory:' || current_schema(), '');
      return null;
    end $$`.execute(db);
  for (const table of DIRECTORY_TABLES) {
    const name = sql.raw(`${table}_directory_changed`);
    const on = sql.table(table);
    if (table === 'credentials') {
      // Per row, as the last-use writes are told apart from other changes by their columns.
      await sql`create trigger ${name}_write after insert or delete on ${on} for each statement execute function relaygate_directory_changed()`.execute(db);
      await sql`create trigger ${name}_update after update on ${on} for each row when (${NOT_A_LAST_USE}) execute function relaygate_directory_changed()`.execute(
        db,
      );
    } else {
      await sql`create trigger ${name} after insert or update or delete on ${on} for each statement execute function relaygate_directory_changed()`.execute(db);
    }
  }
}

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  const bump = sql.raw('update directory_version set version = version + 1 where id = 1;');
  for (const table of DIRECTORY_TABLES) {
    const on = sql.table(table);
    for (const event of ['insert', 'update', 'delete'] as const) {
      const name = sql.raw(`${table}_directory_${event}`);
      const when = table === 'credentials' && event === 'update' ? sql`when ${NOT_A_LAST_USE}` : sql``;
      await sql`create trigger ${name} after ${sql.raw(event)} on ${on} ${when} begin ${bump} end`.execute(db);
    }
  }
}
