import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AdminServices } from '../api/api-context.js';
import type { Config } from '../config/schema.js';
import { type Connector, connector } from '../connector/connector.js';
import type { Courier } from '../delivery/courier.js';
import { configuredDirectSecureDelivery } from '../delivery/direct-secure-delivery.js';
import { directionalCourier } from '../delivery/directional-courier.js';
import { useNativeDotStuffing } from '../delivery/dot-stuffing.js';
import { inboundCourier } from '../delivery/inbound-courier.js';
import { outboundCourier } from '../delivery/outbound-courier.js';
import { connectionDirectory } from '../directory/connections.js';
import { type CredentialDirectory, credentialDirectory } from '../directory/credentials.js';
import { deliveryPolicyDirectory } from '../directory/delivery-policies.js';
import { lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import { type InboundTargetDirectory, inboundTargetDirectory } from '../directory/inbound-targets.js';
import { type LdapSync, ldapSync } from '../directory/ldap-sync.js';
import { routeLookup } from '../directory/route-lookup.js';
import { senderAuthorization } from '../directory/sender-authorization.js';
import { type DkimDirectory, dkimDirectory, dkimSigningCourier } from '../dkim/index.js';
import { cachingResolver } from '../dns/caching-resolver.js';
import { countingResolver } from '../dns/counting-resolver.js';
import { configuredResolver, type DnsResolver } from '../dns/index.js';
import { eventDispatcher } from '../events/event-dispatcher.js';
import { dnsResultOf, type GatewayMetrics, gatewayMetrics, webhookOutcomeOf } from '../http/metrics.js';
import { VERSION } from '../http/server.js';
import { countingWebhookClient } from '../inbound/counting-webhook-client.js';
import { downloadLinkKey, downloadLinks } from '../inbound/download-links.js';
import { goneTarget } from '../inbound/gone-target.js';
import { type WebhookClient, webhookClient } from '../inbound/webhook-client.js';
import { type WebhookDelivery, webhookDelivery } from '../inbound/webhook-delivery.js';
import type { BodyCache } from '../lib/body-cache.js';
import type { Clock } from '../lib/clock.js';
import { freeSpace } from '../lib/free-space.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { SenderPolicy } from '../policy/sender-policy.js';
import type { QueueStore } from '../queue/queue-store.js';
import type { SealingSpool } from '../queue/spool.js';
import { type GatewaySandbox, gatewaySandbox, sandboxEnabled } from '../sandbox/sandbox.js';
import type { KeyRing } from '../secure/key-encryption.js';
import { type KeyConfig, keyEncryptionFor } from '../secure/master-key.js';
import { sealedCopies } from '../secure/sealed-captures.js';
import { sealingSpool } from '../secure/sealing-spool.js';
import { secureCourier } from '../secure/secure-courier.js';
import { type SecureVault, secureVault } from '../secure/vault.js';
import { useNativeDataScan } from '../smtp/data-scan.js';
import { sqlConnectionStore } from '../store/connections/index.js';
import { sqlConnectorStore } from '../store/connector/index.js';
import { sqlDeliveryPolicyStore } from '../store/delivery-policies/index.js';
import { sqlDkimKeyStore } from '../store/dkim-keys/index.js';
import { describeDurabilityFailure } from '../store/durability.js';
import { sqlEventStore } from '../store/events/index.js';
import { sqlInboundRecipientStore } from '../store/inbound-recipients/index.js';
import { sqlMessageRate } from '../store/message-rate/index.js';
import { sqlSandboxStore } from '../store/sandbox/index.js';
import { checkKeyEncryptionKey } from '../store/shared-keys.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { trafficStats } from '../store/traffic-stats.js';
import { adminServices } from './admin-services.js';
import type { DirectoryCache } from './directory-cache.js';
import { directoryStores } from './directory-stores.js';
import { removeOrphans } from './jobs.js';
import { type LateParts, openSmtpSessions } from './late-parts.js';
import { spoolFor } from './open-spool.js';
import type { OpenStore } from './open-store.js';
import { storageShortage } from './readiness.js';
import type { RoleParts } from './roles.js';
import { secureStores } from './secure-stores.js';
import { openDirectoryCache, sessionReads } from './session-reads.js';
import type { StoreContext } from './store-context.js';

/** What the start hands the composition: the store is open, nothing listens yet. */
export interface Groundwork {
  config: Config;
  log: Logger;
  clock: Clock;
  store: OpenStore;
  instance: string;
  runs: RoleParts;
  late: LateParts;
  /** Where the copies of small bodies accepted here are kept for their delivery: an SMTP acceptor sends them to the primary (smtp-acceptor.ts). */
  bodyCache?: BodyCache;
}

/** Every part the roles start and the jobs use, built from the config; nothing listens yet. */
export interface GatewayParts {
  queue: QueueStore;
  spool: SealingSpool;
  kek: KeyRing;
  vault: SecureVault;
  directoryContext: StoreContext;
  /** The session's directory reads from memory (src/app/session-reads.ts); stopped with the store. */
  directoryCache: DirectoryCache;
  credentials: CredentialDirectory;
  senderPolicy: SenderPolicy;
  /** The route table, asked at MAIL FROM and DATA (src/policy/route-policy.ts) and for a secure message's retention. */
  routes: ReturnType<typeof routeLookup>;
  metrics: GatewayMetrics;
  resolver: DnsResolver;
  targets: InboundTargetDirectory;
  linkKey: Buffer;
  sandbox: GatewaySandbox | undefined;
  /** The webhook client as it reaches the network: closed at the stop. */
  networkClient: WebhookClient;
  webhooks: Webhooks;
  courier: Courier;
  connector: Connector;
  services: AdminServices;
  /** The background jobs' own services (src/app/jobs.ts). */
  events: ReturnType<typeof eventDispatcher>;
  dkimKeeper: DkimDirectory;
  directoryPull: LdapSync;
  health: Health;
}

/** What /readyz and every MAIL FROM ask: whether a message can be stored now. */
export interface Health {
  storeNotDurable(): string | undefined;
  diskShortage(): Promise<string | undefined>;
  minFreeBytes: number;
}

/**
 * Builds the parts in the order their start touches the store and the disk: the spool and
 * the queue's leases, the sandbox decision, the webhook client, the couriers, the key check.
 * The services' own factories take the whole Config; the helpers here take their slice.
 */
export async function composeGateway(base: Groundwork): Promise<GatewayParts> {
  const { config, log, clock, store } = base;
  // The key-encryption key is asked for only once a body is sealed or opened, after start.
  const keys = keyRingOnce(config);
  const { queue, spool } = await openQueue(base, keys);
  const directoryContext = { db: store.db, clock, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
  const directoryCache = await openDirectoryCache(store, log);
  const reads = sessionReads(store.db, directoryCache);
  const credentials = credentialDirectory({ credentials: reads.credentials, messageRate: sqlMessageRate(store.db, clock) }, directoryContext);
  const senderPolicy = senderAuthorization({ ...directoryStores(store.db), senders: reads.senders }, directoryContext);
  const routes = routeLookup({ routes: reads.routes });
  const metrics = gatewayMetrics({
    queueDepth: () => trafficStats(store.db).queueDepth(),
    openSessions: () => openSmtpSessions(base.late),
    now: () => clock.now(),
    onCollectError: (err) => log.error({ err }, 'queue depth for /metrics could not be read'),
  });
  // One cache for the process: MX, TLSA, MTA-STS and SPF answers live as long as their TTL.
  const resolver = cachingResolver(
    countingResolver(configuredResolver(config.dnsResolver), (type, response) => metrics.dnsLookups.inc({ type, result: dnsResultOf(type, response) })),
    { clock },
  );
  const targets = inboundTargetDirectory({ inboundTargets: reads.inboundTargets }, directoryContext, config);
  const linkKey = downloadLinkKey(store.hashKey);
  const requirements = deliveryPolicyDirectory({ deliveryPolicies: sqlDeliveryPolicyStore(store.db) }, directoryContext);
  const connectorService = connectorOf({ directoryContext, config, spool, queue, metrics, log });
  const sandboxStore = sqlSandboxStore(store.db);
  const sandbox = (await sandboxEnabled(config, sandboxStore))
    ? gatewaySandbox({
        store: sandboxStore,
        routeTable: () => routes.tableOf(DEFAULT_ORGANISATION_ID),
        dataDir: config.dataDir,
        clock,
        requirements,
        verificationArrived: (token, relay) => connectorService.arrived(token, relay),
        sealing: sealedCopies({ bodies: secureStores(store.db).bodies, kek: keys, now: () => clock.now() }),
      })
    : undefined;
  const webhooks = composeWebhooks({ config, log, clock, resolver, metrics, targets, sandbox, linkKey, late: base.late });
  const dkimKeys = dkimDirectory({ dkimKeys: reads.dkimKeys }, directoryContext, config, resolver).signingKeys;
  const direct = { resolver, requirements, log };
  // Every SMTP client and server of the process: the same bytes, found by native search.
  useNativeDotStuffing();
  useNativeDataScan();
  const outbound = dkimSigningCourier(
    outboundCourier(config, connectionDirectory({ connections: sqlConnectionStore(store.db) }, directoryContext, config), clock, direct, sandbox?.nextHop),
    dkimKeys,
    clock,
  );
  const kek = keys();
  if (store.engine === 'postgres') await checkKeyEncryptionKey(store.db, kek, clock.now());
  const vault = secureVault({ ...secureStores(store.db), kek, spool });
  const courier = composeCourier({ base, queue, spool, targets, sandbox, webhooks, outbound, vault, kek, sign: (c) => dkimSigningCourier(c, dkimKeys, clock) });
  const services = adminServices(directoryContext, config, {
    connector: connectorService,
    vault,
    onDenialError: (err) => log.error({ err }, 'a refused request could not be written to the audit log'),
  });
  const jobs = jobServices({ config, log, clock, store, directoryContext, targets, webhooks, kek });
  const health = healthOf(config, store);
  const parts = {
    queue,
    spool,
    kek,
    vault,
    directoryContext,
    directoryCache,
    credentials,
    senderPolicy,
    routes,
    metrics,
    resolver,
    targets,
    linkKey,
    sandbox,
    courier,
    services,
  };
  return { ...parts, networkClient: webhooks.networkClient, webhooks, connector: connectorService, health, ...jobs };
}

/** The ring, loaded at its first use and then the same one for every part. */
function keyRingOnce(config: KeyConfig): () => KeyRing {
  let ring: KeyRing | undefined;
  return () => (ring ??= keyEncryptionFor(config));
}

/** The queue store and the gateway's spool, with what a crashed run left behind cleared. */
async function openQueue(base: Groundwork, keys: () => KeyRing): Promise<{ queue: QueueStore; spool: SealingSpool }> {
  const { config, clock, store, log } = base;
  const queue = sqlQueueStore(store.db, store.syncCommitted, store.durability);
  const spool = sealingSpool(spoolFor(store.db, config.dataDir, base.bodyCache), {
    bodies: secureStores(store.db).bodies,
    kek: keys,
    now: () => clock.now(),
  });
  await spool.init();
  if (base.runs.worker) await removeOrphans(spool, queue, log);
  // One embedded store serves one gateway: leases left by a killed process are void. On
  // PostgreSQL other instances hold live leases: only this instance's own, from its previous
  // run, are void at once; those of an instance that does not come back run out. Only the
  // process that runs the queue worker holds leases: an SMTP acceptor (smtp-acceptor.ts),
  // started while the worker delivers, must leave them alone.
  if (base.runs.worker) await queue.releaseLeases(store.engine === 'sqlite' ? 'all' : { instance: base.instance });
  return { queue, spool };
}

function connectorOf(o: {
  directoryContext: StoreContext;
  config: Config;
  spool: SealingSpool;
  queue: QueueStore;
  metrics: GatewayMetrics;
  log: Logger;
}): Connector {
  const { metrics, log } = o;
  const stores = { connector: sqlConnectorStore(o.directoryContext.db) };
  return connector(stores, {
    ctx: o.directoryContext,
    config: o.config,
    spool: o.spool,
    queue: o.queue,
    events: {
      legFailed(domain, check) {
        metrics.legChecks.inc({ domain, leg: check.leg, result: 'failed' });
        metrics.legUp.set({ domain, leg: check.leg }, 0);
        log.warn({ event: 'connection.check.failed', domain, leg: check.leg, trigger: check.trigger, reason: check.reason }, 'connection check failed');
      },
      legVerified(domain, check) {
        metrics.legChecks.inc({ domain, leg: check.leg, result: 'verified' });
        metrics.legUp.set({ domain, leg: check.leg }, 1);
        log.info({ event: 'connection.check.verified', domain, leg: check.leg, trigger: check.trigger }, 'connection check passed');
      },
      scheduleFailed(domain, err) {
        log.warn({ event: 'connection.check.not-started', domain, err: (err as Error).message }, 'scheduled connection check could not start');
      },
    },
  });
}

/** The inbound leg's webhook side: the client (counted, captured in sandbox mode), the disabling of gone targets, the deliveries. */
export interface Webhooks {
  networkClient: WebhookClient;
  client: WebhookClient;
  gone: ReturnType<typeof goneTarget>;
  delivery: WebhookDelivery;
}

function composeWebhooks(o: {
  config: Pick<Config, 'hostname' | 'inbound'>;
  log: Logger;
  clock: Clock;
  resolver: DnsResolver;
  metrics: GatewayMetrics;
  targets: InboundTargetDirectory;
  sandbox: GatewaySandbox | undefined;
  linkKey: Buffer;
  late: Pick<LateParts, 'publicUrl'>;
}): Webhooks {
  const { config, clock, late } = o;
  const networkClient = webhookClient({
    resolver: o.resolver,
    allowPrivate: config.inbound.allowPrivateWebhooks,
    userAgent: `Relaygate/${VERSION} (+https://${config.hostname})`,
    ...(config.inbound.webhookCaFile ? { ca: readFileSync(config.inbound.webhookCaFile, 'utf8') } : {}),
  });
  const countedClient = countingWebhookClient(networkClient, (answer) => o.metrics.webhookRequests.inc({ outcome: webhookOutcomeOf(answer) }));
  const client = o.sandbox ? o.sandbox.webhookClient(countedClient) : countedClient;
  const gone = goneTarget({ targets: o.targets, log: o.log });
  const delivery = webhookDelivery({
    client,
    gone,
    clock,
    links: downloadLinks({ baseUrl: () => late.publicUrl, key: o.linkKey, clock, validForMs: config.inbound.retainBodies }),
    timeoutMs: config.inbound.webhookTimeout,
    inlineAttachmentBytes: config.inbound.inlineAttachmentBytes,
  });
  return { networkClient, client, gone, delivery };
}

/** The courier the worker hands each message to, by direction: outbound, inbound or secure. */
function composeCourier(o: {
  base: Groundwork;
  queue: QueueStore;
  spool: SealingSpool;
  targets: InboundTargetDirectory;
  sandbox: GatewaySandbox | undefined;
  webhooks: Webhooks;
  outbound: Courier;
  vault: SecureVault;
  kek: KeyRing;
  sign: (courier: Courier) => Courier;
}): Courier {
  const { config, store, clock, log, late } = o.base;
  const { spool, outbound, sandbox } = o;
  return directionalCourier({
    outbound,
    inbound: inboundCourier({
      recipients: (address) => lookUpInboundRecipient(sqlInboundRecipientStore(store.db), address),
      store: o.queue,
      spool,
      targets: sandbox ? sandbox.targets(o.targets) : o.targets,
      webhooks: o.webhooks.delivery,
      outbound,
    }),
    secure: secureCourier({
      store: secureStores(store.db).delivery,
      vault: o.vault,
      kek: o.kek,
      hashKey: store.hashKey,
      outbound,
      direct: configuredDirectSecureDelivery(config, {
        domains: secureStores(store.db).delivery,
        clock,
        log,
        sign: o.sign,
        capture: sandbox?.nextHop({ kind: 'mx' }),
      }),
      portalUrl: () => late.publicUrl,
      hostname: config.hostname,
      clock,
    }),
  });
}

function healthOf(config: Pick<Config, 'health' | 'dataDir'>, store: Pick<OpenStore, 'durability'>): Health {
  const minFreeBytes = config.health.minFreeDisk;
  return {
    storeNotDurable: () => {
      const failure = store.durability.failure();
      return failure && describeDurabilityFailure(failure);
    },
    diskShortage: storageShortage(freeSpace(config.dataDir), minFreeBytes),
    minFreeBytes,
  };
}

/** The services only the background jobs use; built on every role, run by the worker's. */
function jobServices(o: {
  config: Config;
  log: Logger;
  clock: Clock;
  store: OpenStore;
  directoryContext: StoreContext;
  targets: InboundTargetDirectory;
  webhooks: Webhooks;
  kek: KeyRing;
}): Pick<GatewayParts, 'events' | 'dkimKeeper' | 'directoryPull'> {
  const { config, kek } = o;
  const events = eventDispatcher({
    store: sqlEventStore(o.store.db),
    targets: o.targets,
    client: o.webhooks.client,
    clock: o.clock,
    retry: { initialMs: config.queue.retryInitial, maxMs: config.queue.retryMax },
    timeoutMs: config.inbound.webhookTimeout,
    log: o.log,
    gone: o.webhooks.gone,
  });
  // The DNS must be asked afresh here: a record just published would otherwise wait out a cached denial.
  const dkimKeeper = dkimDirectory({ dkimKeys: sqlDkimKeyStore(o.store.db) }, o.directoryContext, config);
  // A tick reads one row; the interval itself (directory sync --every) is the saved source's.
  const directoryPull = ldapSync(o.directoryContext, config, () => kek, directoryStores(o.store.db));
  return { events, dkimKeeper, directoryPull };
}
