import { type Kysely, type Migration, Migrator } from 'kysely';
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
};

/** `schema`: where a PostgreSQL store keeps its tables, the migrator's own included (it looks in public otherwise). */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`, { cause: error });
  }
}
