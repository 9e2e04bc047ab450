import type { AdminServices } from '../api/api-context.js';
import { auditLog } from '../audit/audit-log.js';
import { deniedAttempts } from '../audit/denied-attempts.js';
import type { Config } from '../config/schema.js';
import { type Connector, connector } from '../connector/connector.js';
import { addressSync } from '../directory/address-sync.js';
import { addressDirectory } from '../directory/addresses.js';
import { apiTokens } from '../directory/api-tokens.js';
import { connectionDirectory } from '../directory/connections.js';
import { credentialDirectory } from '../directory/credentials.js';
import { deliveryPolicyDirectory } from '../directory/delivery-policies.js';
import { directDeliveryDirectory } from '../directory/direct-delivery.js';
import { domainDirectory } from '../directory/domains.js';
import { inboundTargetDirectory } from '../directory/inbound-targets.js';
import { routeDirectory } from '../directory/routes.js';
import { scimGroups } from '../directory/scim-groups.js';
import { dkimDirectory } from '../dkim/index.js';
import { sandboxMailbox } from '../sandbox/mailbox.js';
import type { KeyRing } from '../secure/key-encryption.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { sealedCopies } from '../secure/sealed-captures.js';
import { secureMessages } from '../secure/secure-messages.js';
import { secureSettings } from '../secure/secure-settings.js';
import { type SecureVault, secureVault } from '../secure/vault.js';
import { sqlApiTokenStore } from '../store/api-tokens/index.js';
import { sqlAuditStore } from '../store/audit/index.js';
import { sqlConnectionStore } from '../store/connections/index.js';
import { sqlConnectorStore } from '../store/connector/index.js';
import { sqlCredentialStore } from '../store/credentials/index.js';
import { sqlDeliveryPolicyStore } from '../store/delivery-policies/index.js';
import { sqlDkimKeyStore } from '../store/dkim-keys/index.js';
import { sqlInboundTargetStore } from '../store/inbound-targets/index.js';
import { sqlMessageRate } from '../store/message-rate/index.js';
import { sqlRouteStore } from '../store/routes/index.js';
import { sqlSandboxStore } from '../store/sandbox/index.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { directoryStores } from './directory-stores.js';
import { configuredDomainChecker } from './domain-checker.js';
import { spoolFor } from './open-spool.js';
import { secureStores } from './secure-stores.js';
import type { StoreContext } from './store-context.js';

/** The administrative services, built once and shared by the API and the CLI. */
export function adminServices(
  ctx: StoreContext,
  config: Config,
  shared: { connector?: Connector; vault?: SecureVault; onDenialError?: (err: unknown) => void } = {},
): AdminServices {
  // Built on first use: only the secure verbs need the key-encryption key (loading it may create it).
  let vault = shared.vault;
  let kek: KeyRing | undefined;
  const loadKek = () => (kek ??= keyEncryptionFor(config));
  const secure = secureStores(ctx.db);
  const openVault = () => (vault ??= secureVault({ ...secure, kek: loadKek(), spool: spoolFor(ctx.db, config.dataDir) }));
  const dnsCheck = configuredDomainChecker(ctx, config);
  const stores = directoryStores(ctx.db);
  return {
    messages: sqlQueueStore(ctx.db, ctx.syncCommitted),
    inboundTargets: inboundTargetDirectory({ inboundTargets: sqlInboundTargetStore(ctx.db) }, ctx, config),
    // The CLI starts checks and disconnects in the store and spool; the running gateway's sweep finishes them.
    connector:
      shared.connector ??
      connector(
        { connector: sqlConnectorStore(ctx.db) },
        { ctx, config, spool: spoolFor(ctx.db, config.dataDir), queue: sqlQueueStore(ctx.db, ctx.syncCommitted) },
      ),
    tokens: apiTokens({ apiTokens: sqlApiTokenStore(ctx.db) }, ctx),
    audit: auditLog(sqlAuditStore(ctx.db)),
    denials: deniedAttempts({ store: sqlAuditStore(ctx.db), clock: ctx.clock }, shared.onDenialError),
    domains: domainDirectory(stores, ctx, config),
    addresses: addressDirectory(stores, ctx, config),
    scimUsers: addressSync(stores, ctx, config, 'scim'),
    scimGroups: scimGroups(stores, ctx, config),
    credentials: credentialDirectory({ credentials: sqlCredentialStore(ctx.db), messageRate: sqlMessageRate(ctx.db, ctx.clock) }, ctx),
    routes: routeDirectory({ routes: sqlRouteStore(ctx.db) }, ctx),
    connections: connectionDirectory({ connections: sqlConnectionStore(ctx.db) }, ctx, config),
    tlsPolicies: deliveryPolicyDirectory({ deliveryPolicies: sqlDeliveryPolicyStore(ctx.db) }, ctx),
    dkim: dkimDirectory({ dkimKeys: sqlDkimKeyStore(ctx.db) }, ctx, config),
    dnsCheck,
    directDelivery: directDeliveryDirectory(stores, ctx, dnsCheck),
    secureMessages: secureMessages(secure, { clock: ctx.clock, syncCommitted: ctx.syncCommitted, vault: openVault }),
    secureSettings: secureSettings(secure, ctx),
    sandbox: sandboxMailbox(
      { sandbox: sqlSandboxStore(ctx.db) },
      { dataDir: config.dataDir, sealing: sealedCopies({ bodies: secure.bodies, kek: loadKek, now: () => ctx.clock.now() }) },
    ),
  };
}
