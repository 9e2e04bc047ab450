import type { Kysely } from 'kysely';

/**
 * Directory pulls (issue 24): an organisation whose directory speaks LDAP but not SCIM saves it
 * as a sync source that the gateway reads on a schedule. The bind password and a client
 * certificate's key are sealed with the key-encryption key like a connection's secret (bound
 * to the row id); the CA and client certificate are kept as PEM so that every instance sharing
 * the store can dial the directory. One LDAP source per organisation: its addresses are the
 * ones of source 'ldap', and two sources would take them from each other.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('directory_sync_sources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('base_dn', 'text', (c) => c.notNull())
    .addColumn('filter', 'text', (c) => c.notNull())
    .addColumn('bind_dn', 'text')
    .addColumn('bind_password_sealed', 'text')
    .addColumn('ca_cert', 'text')
    .addColumn('client_cert', 'text')
    .addColumn('client_key_sealed', 'text')
    .addColumn('mapping', 'text', (c) => c.notNull())
    .addColumn('interval_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('last_run_at', 'bigint')
    .addColumn('last_status', 'text')
    .addColumn('last_result', 'text')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('directory_sync_sources_org_kind').on('directory_sync_sources').columns(['organisation_id', 'kind']).unique().execute();
}
