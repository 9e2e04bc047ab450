import { type DatabaseIntrospector, type Kysely, type Migration, Migrator, type SchemaMetadata, sql, type TableMetadata } from 'kysely';
import * as queue from './0001-queue.js';
import * as directory from './0002-directory.js';
import * as inbound from './0003-inbound.js';
import * as dkim from './0004-dkim.js';
import * as deliveryPolicy from './0005-delivery-policy.js';
import * as eventWebhooks from './0006-event-webhooks.js';
import * as secureMessages from './0007-secure-messages.js';
import * as sandbox from './0011-sandbox.js';
import * as adminConsole from './0012-console.js';
import * as health from './0013-health.js';
import * as scaleOut from './0014-scale-out.js';
import * as sealedBodies from './0016-sealed-bodies.js';
import * as portalLock from './0017-portal-lock.js';
import * as inboundTargetState from './0018-inbound-target-state.js';
import * as certificateCredentials from './0019-certificate-credentials.js';
import * as connectionAuth from './0020-connection-auth.js';
import * as directorySync from './0021-directory-sync.js';
import * as portalLocaleBrand from './0022-portal-locale-brand.js';
import * as ldapSync from './0023-ldap-sync.js';
import * as scimGroups from './0024-scim-groups.js';
import * as readReceiptFormat from './0025-read-receipt-format.js';
import * as directoryVersion from './0026-directory-version.js';

// Numbered migrations, applied in order by `relaygate migrate` and at start. The column
// types are the portable subset shared by SQLite and PostgreSQL.
const migrations: Record<string, Migration> = {
  '0001_queue_and_credentials': queue,
  '0002_directory': directory,
  '0003_inbound': inbound,
  '0004_dkim': dkim,
  '0005_delivery_policy': deliveryPolicy,
  '0006_event_webhooks': eventWebhooks,
  '0007_secure_messages': secureMessages,
  '0011_sandbox': sandbox,
  '0012_console': adminConsole,
  '0013_health': health,
  '0014_scale_out': scaleOut,
  '0016_sealed_bodies': sealedBodies,
  '0017_portal_lock': portalLock,
  '0018_inbound_target_state': inboundTargetState,
  '0019_certificate_credentials': certificateCredentials,
  '0020_connection_auth': connectionAuth,
  '0021_directory_sync': directorySync,
  '0022_portal_locale_brand': portalLocaleBrand,
  '0023_ldap_sync': ldapSync,
  '0024_scim_groups': scimGroups,
  '0025_read_receipt_format': readReceiptFormat,
  '0026_directory_version': directoryVersion,
};

/** `schema`: where a PostgreSQL store keeps its tables, the migrator's own included (it looks in public otherwise). */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db: schema ? lookingOnlyIn(db, schema) : db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`, { cause: error });
  }
}

/**
 * Kysely's migrator finds its tables with the dialect's introspector, which reads every schema
 * of the database and calls has_schema_privilege on each by name: a schema that another client
 * drops meanwhile (another tenant's clean-up, a test run ending) fails that query with
 * `schema "…" does not exist`, and the gateway did not start. Here it reads only its own schema,
 * from the catalogue, without a privilege function. The rest of the instance is untouched.
 */
function lookingOnlyIn(db: Kysely<unknown>, schema: string): Kysely<unknown> {
  const getSchemas = async (): Promise<SchemaMetadata[]> => {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${schema}`.execute(db);
    return rows;
  };
  const getTables = async (): Promise<TableMetadata[]> => {
    const { rows } = await sql<{ name: string; kind: string }>`select c.relname as name, c.relkind as kind from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema} and c.relkind in ('r', 'v', 'p')`.execute(db);
    return rows.map((r) => ({ name: r.name, schema, isView: r.kind === 'v', columns: [] }));
  };
  const introspection: DatabaseIntrospector = { getSchemas, getTables, getMetadata: async () => ({ tables: await getTables() }) };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      // Kysely keeps its state in private fields: its methods must run on the instance itself.
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
