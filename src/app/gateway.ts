import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { describeSmarthost } from '../config/smarthost-url.js';
import { connector } from '../connector/connector.js';
import { adminAccounts } from '../console/admin-accounts.js';
import { consoleSessions } from '../console/console-session.js';
import { type ConsoleDeps, registerConsole, type SmtpEndpoints } from '../console/index.js';
import { CONSOLE_PAGES } from '../console/pages.js';
import { configuredDirectSecureDelivery } from '../delivery/direct-secure-delivery.js';
import { directionalCourier } from '../delivery/directional-courier.js';
import { inboundCourier } from '../delivery/inbound-courier.js';
import { outboundCourier } from '../delivery/outbound-courier.js';
import { secureCourier } from '../delivery/secure-courier.js';
import { connectionDirectory } from '../directory/connections.js';
import { credentialDirectory } from '../directory/credentials.js';
import { deliveryPolicyDirectory } from '../directory/delivery-policies.js';
import { inboundTargetDirectory } from '../directory/inbound-targets.js';
import { ldapSync } from '../directory/ldap-sync.js';
import { senderAuthorization } from '../directory/sender-authorization.js';
import { dkimDirectory, dkimSigningCourier } from '../dkim/index.js';
import { cachingResolver } from '../dns/caching-resolver.js';
import { countingResolver } from '../dns/counting-resolver.js';
import { configuredResolver } from '../dns/index.js';
import { deliveryEvents } from '../events/delivery-events.js';
import { eventDispatcher } from '../events/event-dispatcher.js';
import { registerInboundDownloads } from '../http/inbound-downloads.js';
import {
  countDeliveryAttempt,
  dnsResultOf,
  gatewayMetrics,
  queueListenMetrics,
  sessionCounter,
  smtpObserver,
  storeDurabilityMetrics,
  webhookOutcomeOf,
} from '../http/metrics.js';
import { startHttp, VERSION } from '../http/server.js';
import { purgeRetainedBodies } from '../inbound/body-retention.js';
import { countingWebhookClient } from '../inbound/counting-webhook-client.js';
import { downloadLinkKey, downloadLinks } from '../inbound/download-links.js';
import { goneTarget } from '../inbound/gone-target.js';
import { synchronousHandoff } from '../inbound/synchronous-handoff.js';
import { webhookClient } from '../inbound/webhook-client.js';
import { webhookDelivery } from '../inbound/webhook-delivery.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { freeSpace } from '../lib/free-space.js';
import { plainHttpSignInWarning } from '../lib/sign-in-url.js';
import { routePolicy } from '../policy/route-policy.js';
import { composeSenderPolicies } from '../policy/sender-policy.js';
import { type PortalDeps, registerPortal } from '../portal/index.js';
import { groupCommitter } from '../queue/group-commit.js';
import { spoolFor } from '../queue/open-spool.js';
import type { Spool } from '../queue/spool.js';
import { startQueueWorker } from '../queue/worker.js';
import { gatewaySandbox, sandboxEnabled } from '../sandbox/sandbox.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { sweepSecureRetention } from '../secure/retention.js';
import { sealedCopies } from '../secure/sealed-captures.js';
import { sealingSpool } from '../secure/sealing-spool.js';
import { secureReplies } from '../secure/secure-replies.js';
import { secureVault } from '../secure/vault.js';
import { authThrottle } from '../smtp/auth-throttle.js';
import { userLock } from '../smtp/auth-user-lock.js';
import { startSmtpListeners } from '../smtp/listeners.js';
import { sqlConnectionStore } from '../store/connections/index.js';
import { sqlCredentialStore } from '../store/credentials/index.js';
import { sqlDeliveryPolicyStore } from '../store/delivery-policies/index.js';
import { describeDurabilityFailure } from '../store/durability.js';
import { exclusively } from '../store/exclusive-job.js';
import { writeHeartbeat } from '../store/heartbeat.js';
import { sqlInboundTargetStore } from '../store/inbound-targets/index.js';
import { sqlMessageRate } from '../store/message-rate/index.js';
import type { Listening } from '../store/postgres/listen-connection.js';
import { checkKeyEncryptionKey } from '../store/shared-keys.js';
import { QUEUE_CHANNEL, sqlQueueStore } from '../store/sql-queue-store.js';
import { trafficStats } from '../store/traffic-stats.js';
import { auditRefusedForms } from '../web/csrf.js';
import { adminServices } from './admin-services.js';
import { endOnDamagedWal } from './damaged-wal.js';
import { prepareDataDir } from './data-dir.js';
import { logDurability } from './durability-log.js';
import { instanceIdOf } from './instance-id.js';
import { listenFailed } from './listen-error.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import { readinessProbe, storageShortage } from './readiness.js';
import { loadClientCa, loadTlsMaterial, type TlsMaterial } from './tls-material.js';

export interface Gateway {
  ports: { smtp: number; smtps: number; relay: number; http: number };
  tls: TlsMaterial;
  smarthost: string | undefined;
  /** Every outgoing mail is captured in the sandbox mailbox instead of sent. */
  sandbox: boolean;
  /** Said at start and in the banner, e.g. that sign-in cannot work at a plain-HTTP public URL. */
  warnings: string[];
  /** SIGTERM semantics: stop accepting, let sessions finish, leave the queue intact. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  log?: Logger;
  clock?: Clock;
}

/** How much later than the accepting instance's own worker the other instances react to new work. */
const PEER_WAKE_DELAY_MS = 50;

/** Written once every listener is up, for scripts and tests that start on port 0. */
export const LISTENERS_FILE = 'listeners.json';

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = options.clock ?? systemClock;
  prepareDataDir(config.dataDir);
  // Before the store: a certificate that cannot be used stops the start at once.
  const tls = await loadTlsMaterial(config);
  const clientCa = loadClientCa(config);
  // Named before the store opens: its sessions in pg_stat_activity carry the name.
  const instance = instanceIdOf(config.dataDir);
  const store = await openStore(config, { applicationName: `relaygate:${instance}`, log, proveLeftoverWal: true });
  // The head goes to the log stream too: a copy outside this host that truncation cannot reach.
  store.audit.onHead((head) => log.info({ event: 'audit.head', seq: head.seq, hash: head.hash }, 'audit log head'));
  store.durability.onChange(logDurability(log));
  store.durability.onChange(endOnDamagedWal(log));
  const storeNotDurable = () => {
    const failure = store.durability.failure();
    return failure && describeDurabilityFailure(failure);
  };
  const runs = partsOf(config.role);
  const queue = sqlQueueStore(store.db, store.syncCommitted, store.durability);
  // The key-encryption key is asked for only once a body is sealed or opened, after start.
  const spool = sealingSpool(spoolFor(store.db, config.dataDir), { db: store.db, kek: () => kek, now: () => clock.now() });
  await spool.init();
  if (runs.worker) await removeOrphans(spool, queue, log);
  // One embedded store serves one gateway: leases left by a killed process are void. On
  // PostgreSQL other instances hold live leases: only this instance's own, from its previous
  // run, are void at once; those of an instance that does not come back run out.
  await queue.releaseLeases(store.engine === 'sqlite' ? 'all' : { instance });

  const directoryContext = { db: store.db, clock, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
  const credentials = credentialDirectory({ credentials: sqlCredentialStore(store.db), messageRate: sqlMessageRate(store.db, clock) }, directoryContext);
  const senderPolicy = composeSenderPolicies([senderAuthorization(directoryContext), routePolicy(directoryContext)]);
  // One cache for the process: MX, TLSA, MTA-STS and SPF answers live as long as their TTL.
  // The SMTP listeners start last; until then no session is open.
  let openSmtpSessions = async (): Promise<Record<string, number>> => ({});
  const metrics = gatewayMetrics({
    queueDepth: () => trafficStats(store.db).queueDepth(),
    openSessions: () => openSmtpSessions(),
    now: () => clock.now(),
    onCollectError: (err) => log.error({ err }, 'queue depth for /metrics could not be read'),
  });
  const resolver = cachingResolver(
    countingResolver(configuredResolver(config.dnsResolver), (type, response) => metrics.dnsLookups.inc({ type, result: dnsResultOf(type, response) })),
    { clock },
  );
  const targets = inboundTargetDirectory({ inboundTargets: sqlInboundTargetStore(store.db) }, directoryContext, config);
  const linkKey = downloadLinkKey(store.hashKey);
  let publicUrl = config.http.publicUrl ?? '';
  const requirements = deliveryPolicyDirectory({ deliveryPolicies: sqlDeliveryPolicyStore(store.db) }, directoryContext);
  const sandbox = (await sandboxEnabled(config, store.db))
    ? gatewaySandbox({
        db: store.db,
        dataDir: config.dataDir,
        clock,
        requirements,
        verificationArrived: (token, relay) => connectorService.arrived(token, relay),
        sealing: sealedCopies({ db: store.db, kek: () => kek, now: () => clock.now() }),
      })
    : undefined;
  const networkClient = webhookClient({
    resolver,
    allowPrivate: config.inbound.allowPrivateWebhooks,
    userAgent: `Relaygate/${VERSION} (+https://${config.hostname})`,
    ...(config.inbound.webhookCaFile ? { ca: readFileSync(config.inbound.webhookCaFile, 'utf8') } : {}),
  });
  const countedClient = countingWebhookClient(networkClient, (answer) => metrics.webhookRequests.inc({ outcome: webhookOutcomeOf(answer) }));
  const client = sandbox ? sandbox.webhookClient(countedClient) : countedClient;
  const gone = goneTarget({ targets, log });
  const webhooks = webhookDelivery({
    client,
    gone,
    clock,
    links: downloadLinks({ baseUrl: () => publicUrl, key: linkKey, clock, validForMs: config.inbound.retainBodies }),
    timeoutMs: config.inbound.webhookTimeout,
    inlineAttachmentBytes: config.inbound.inlineAttachmentBytes,
  });
  const dkimKeys = dkimDirectory(directoryContext, config, resolver).signingKeys;
  const direct = { resolver, requirements, log };
  const connections = connectionDirectory({ connections: sqlConnectionStore(store.db) }, directoryContext, config);
  const outbound = dkimSigningCourier(outboundCourier(config, connections, clock, direct, sandbox?.nextHop), dkimKeys, clock);
  const kek = keyEncryptionFor(config);
  if (store.engine === 'postgres') await checkKeyEncryptionKey(store.db, kek, clock.now());
  const vault = secureVault({ db: store.db, kek, spool });
  const courier = directionalCourier({
    outbound,
    inbound: inboundCourier({ db: store.db, store: queue, spool, targets: sandbox ? sandbox.targets(targets) : targets, webhooks, outbound }),
    secure: secureCourier({
      db: store.db,
      vault,
      kek,
      hashKey: store.hashKey,
      outbound,
      direct: configuredDirectSecureDelivery(config, {
        db: store.db,
        clock,
        log,
        sign: (c) => dkimSigningCourier(c, dkimKeys, clock),
        capture: sandbox?.nextHop({ kind: 'mx' }),
      }),
      portalUrl: () => publicUrl,
      hostname: config.hostname,
      clock,
    }),
  });
  const connectorService = connector({
    ctx: directoryContext,
    config,
    spool,
    queue,
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

  let accepting = true;
  const minFreeBytes = config.health.minFreeDisk;
  const diskShortage = storageShortage(freeSpace(config.dataDir), minFreeBytes);
  let smtpNotListening = (): string[] => ['the SMTP listeners have not started yet'];
  const services = adminServices(directoryContext, config, {
    connector: connectorService,
    vault,
    onDenialError: (err) => log.error({ err }, 'a refused request could not be written to the audit log'),
  });
  // Codes, replies and read receipts are queued like accepted mail; until the worker below
  // exists they wait for its first poll.
  let wakeWorker = (): void => undefined;
  // The worker's NOTIFY wake-ups (PostgreSQL only), once the worker below exists.
  let listening: Listening | undefined;
  const portal: PortalDeps = {
    db: store.db,
    vault,
    queue: { spool, committer: groupCommitter(spool, queue), wake: () => wakeWorker(), expireAfterMs: config.queue.expireAfter },
    clock,
    hashKey: store.hashKey,
    hostname: config.hostname,
    maxMessageBytes: config.smtp.maxMessageBytes,
    maxReplyAttachments: 10,
    publicUrl: () => publicUrl,
    log,
  };
  // The configured ports until the listeners are bound (port 0 picks one; an http-only role binds none).
  const smtpEndpoints: SmtpEndpoints = {
    host: config.hostname,
    submissionPort: config.smtp.port,
    implicitTlsPort: config.smtp.smtpsPort,
    relayPort: config.smtp.relayPort,
  };
  const consoleDeps: ConsoleDeps = {
    db: store.db,
    services,
    accounts: adminAccounts(directoryContext),
    sessions: consoleSessions(store.db),
    hashKey: store.hashKey,
    clock,
    log,
    publicUrl: () => publicUrl,
    sandbox: sandbox !== undefined,
    smtpEndpoints,
    queue: {
      async retry(id) {
        const now = clock.now();
        const made = await queue.retry(id, now, now + config.queue.expireAfter);
        if (made > 0) wakeWorker();
        return made;
      },
      async remove(id) {
        const removed = await queue.remove(id, clock.now());
        if (removed) await spool.remove(id);
        return removed;
      },
    },
  };
  const http = await startHttp(
    config.http.listenHost,
    config.http.port,
    readinessProbe({
      accepting: () => accepting,
      writeHeartbeat: () => writeHeartbeat(store.db, store.syncCommitted, clock.now()),
      storeNotDurable,
      smtpNotListening: () => smtpNotListening(),
      diskShortage,
      minFreeBytes,
      queueWakeups: () => listening?.state(),
      pollMs: config.queue.pollInterval,
    }),
    // Every role answers health and metrics; the API, portal and console belong to the http role.
    runs.http ? services : undefined,
    {
      metrics: metrics.registry,
      trustedProxies: config.http.trustedProxies,
      register: runs.http
        ? (app) => {
            registerInboundDownloads(app, { spool, queue, key: linkKey, clock });
            auditRefusedForms(app, {
              prefix: '/m/',
              surface: 'portal',
              publicUrl: () => publicUrl,
              record: (attempt) => services.denials.record(attempt),
            });
            registerPortal(app, portal);
            registerConsole(app, consoleDeps, CONSOLE_PAGES);
          }
        : undefined,
    },
  ).catch(listenFailed(config, 'http'));
  publicUrl ||= `http://${config.http.listenHost.includes(':') ? `[${config.http.listenHost}]` : config.http.listenHost}:${http.port}`;

  const worker = runs.worker
    ? startQueueWorker({
        store: queue,
        spool,
        courier,
        clock,
        log,
        retry: { initialMs: config.queue.retryInitial, maxMs: config.queue.retryMax },
        expireAfterMs: config.queue.expireAfter,
        concurrency: config.queue.concurrency,
        leaseMs: config.queue.lease,
        pollMs: config.queue.pollInterval,
        hostname: config.hostname,
        owner: `${instance}:${process.pid}-${randomBytes(4).toString('hex')}`,
        readHead: (message, maxBytes) => (message.direction === 'secure' ? vault.readHead(message.id, maxBytes) : spool.readHead(message.id, maxBytes)),
        // Delivery events are stored only when some webhook could receive them.
        deliveryEvents: deliveryEvents({ wanted: () => targets.anyWebhook(), expireAfterMs: config.queue.expireAfter }),
        observe: (message, update, now) => countDeliveryAttempt(metrics, message, update, now),
      })
    : undefined;
  wakeWorker = () => worker?.wake();
  // Work queued by another instance (its SMTP, portal or console) wakes this worker, a moment
  // later than the accepting instance wakes its own: that one holds the body in memory and
  // usually takes the message, and the others take what it cannot (measured: without the
  // delay, every instance raced for every message, and bodies were read back from the store).
  let notified: NodeJS.Timeout | undefined;
  listening =
    worker && store.listen
      ? await store.listen(QUEUE_CHANNEL, () => {
          notified ??= setTimeout(() => {
            notified = undefined;
            worker.wake();
          }, PEER_WAKE_DELAY_MS);
        })
      : undefined;
  if (listening) queueListenMetrics(metrics.registry, listening.state);
  storeDurabilityMetrics(metrics.registry, store.durability);

  const acceptance = {
    spool,
    committer: groupCommitter(spool, queue),
    clock,
    hostname: config.hostname,
    maxMessageBytes: config.smtp.maxMessageBytes,
    maxReceived: config.smtp.maxReceived,
    expireAfterMs: config.queue.expireAfter,
    verificationArrived: (token: string, relay: RelayFacts) => connectorService.arrived(token, relay),
  };
  const smtp = runs.smtp
    ? await startSmtpListeners(
        {
          host: config.smtp.listenHost,
          port: config.smtp.port,
          smtpsPort: config.smtp.smtpsPort,
          relayPort: config.smtp.relayPort,
          clientCa,
          hostname: config.hostname,
          tls,
          maxMessageBytes: config.smtp.maxMessageBytes,
          maxRecipients: config.smtp.maxRecipients,
          maxConnections: config.smtp.maxConnections,
          maxConnectionsPerIp: config.smtp.maxConnectionsPerIp,
          idleTimeoutMs: config.smtp.idleTimeout,
          budgets: {
            commandTimeoutMs: config.smtp.commandTimeout,
            dataTimeoutMs: config.smtp.dataTimeout,
            tlsHandshakeTimeoutMs: config.smtp.tlsHandshakeTimeout,
          },
          authOptional: config.inbound.allowUnauthenticated,
          log,
          sessions: sessionCounter(metrics),
        },
        {
          credentials,
          db: store.db,
          allowUnauthenticated: config.inbound.allowUnauthenticated,
          acceptInbound: {
            ...acceptance,
            resolver,
            synchronous: synchronousHandoff({ db: store.db, targets, webhooks, spool, log }),
            secureReplies: secureReplies({ db: store.db, hashKey: store.hashKey }),
          },
          accept: { ...acceptance, senderPolicy },
          acceptSecure: { ...acceptance, senderPolicy, kek, hashKey: store.hashKey },
          throttleByIp: authThrottle(store.db, 'smtp-auth-ip', config.smtp.authFailuresPerIp, config.smtp.authFailureWindow, clock),
          userLock: userLock(
            store.db,
            {
              failuresPerUser: config.smtp.authFailuresPerUser,
              failureWindowMs: config.smtp.authFailureWindow,
              knownSourceWindowMs: config.smtp.authKnownSourceWindow,
            },
            clock,
          ),
          senderPolicy,
          log,
          onQueued: () => wakeWorker(),
          observe: smtpObserver(metrics),
          storageShortage: diskShortage,
          storeNotDurable,
        },
      ).catch(listenFailed(config, 'smtp'))
    : undefined;
  if (smtp) Object.assign(smtpEndpoints, { submissionPort: smtp.ports.smtp, implicitTlsPort: smtp.ports.smtps, relayPort: smtp.ports.relay });
  smtpNotListening = () => smtp?.notListening() ?? [];
  openSmtpSessions = async () => (smtp ? smtp.openSessions() : {});
  const usageTimer = setInterval(() => void credentials.flushUsage().catch((err: unknown) => log.error({ err }, 'recording credential use failed')), 1000);
  usageTimer.unref();
  const events = eventDispatcher({
    db: store.db,
    targets,
    client,
    clock,
    retry: { initialMs: config.queue.retryInitial, maxMs: config.queue.retryMax },
    timeoutMs: config.inbound.webhookTimeout,
    log,
    gone,
  });
  const eventJob = runs.worker ? every(1000, async () => void (await events.dispatch()), log) : undefined;
  // The DNS must be asked afresh here: a record just published would otherwise wait out a cached denial.
  const dkimKeeper = dkimDirectory(directoryContext, config);
  const dkimJob =
    runs.worker && config.dkim.checkInterval > 0
      ? every(
          config.dkim.checkInterval,
          () =>
            exclusively(store.db, 'dkim-checks', async () => {
              for (const domain of await dkimKeeper.domainsToCheck()) {
                const checked = await dkimKeeper.check(domain, { name: 'system:dkim-schedule', ip: null }, { quiet: true }).catch((err: unknown) => {
                  log.warn({ domain, err: (err as Error).message }, 'scheduled DKIM check failed; it runs again at the next interval');
                  return undefined;
                });
                for (const change of checked?.changes ?? []) log.info({ event: 'dkim.key.state', domain, ...change }, 'DKIM key moved on');
              }
            }),
          log,
        )
      : undefined;
  // A tick reads one row; the interval itself (directory sync --every) is the saved source's.
  const directoryPull = ldapSync(directoryContext, config, () => kek);
  const ldapJob = runs.worker
    ? every(
        LDAP_TICK_MS,
        async () => {
          // One instance at a time: runIfDue takes the pull's lock and checks the interval under it.
          const outcome = await directoryPull.runIfDue();
          if (!outcome) return;
          const counts = { changes: outcome.result?.changes.length ?? 0, refused: outcome.result?.refused.length ?? 0 };
          if (outcome.status === 'ok') log.info({ event: 'directory.sync', ...counts }, 'LDAP directory pulled');
          else
            log.warn({ event: 'directory.sync.failed', status: outcome.status, err: outcome.error }, `LDAP directory pull changed nothing: ${outcome.error}`);
        },
        log,
      )
    : undefined;
  const maintenance = !runs.worker
    ? undefined
    : every(
        Math.max(200, Math.min(5000, config.verification.timeout / 4)),
        () =>
          exclusively(store.db, 'maintenance', async () => {
            await connectorService.sweep();
            const now = clock.now();
            await purgeRetainedBodies(queue, spool, now - config.inbound.retainBodies, now);
            const swept = await sweepSecureRetention({ db: store.db, vault, now });
            if (swept.shredded > 0) log.info({ event: 'secure.retention', shredded: swept.shredded }, 'shredded secure messages past their retention');
          }),
        log,
      );

  // Instances on PostgreSQL run for months: bodies of transfers cut short by a crash elsewhere go hourly, not only at a start.
  const orphanSweep =
    runs.worker && store.engine === 'postgres'
      ? every(60 * 60_000, () => exclusively(store.db, 'orphan-bodies', () => removeOrphans(spool, queue, log)), log)
      : undefined;

  const ports = { smtp: smtp?.ports.smtp ?? 0, smtps: smtp?.ports.smtps ?? 0, relay: smtp?.ports.relay ?? 0, http: http.port };
  const listenersPath = join(config.dataDir, LISTENERS_FILE);
  writeFileSync(listenersPath, `${JSON.stringify({ pid: process.pid, host: config.smtp.listenHost, ...ports })}\n`, { mode: 0o600 });
  log.info(
    {
      role: config.role,
      engine: store.engine,
      ...ports,
      dataDir: config.dataDir,
      smarthost: config.smarthost ? describeSmarthost(config.smarthost) : null,
      sandbox: sandbox !== undefined,
    },
    'relaygate started',
  );
  if (sandbox)
    log.warn({ event: 'sandbox.on' }, 'SANDBOX MODE: every outgoing mail is captured in the sandbox mailbox and nothing is sent (relaygate sandbox list)');
  // Only the http role serves the console and the portal, where people sign in.
  const plainHttp = runs.http ? plainHttpSignInWarning(publicUrl) : undefined;
  if (plainHttp) log.warn({ event: 'http.plain-http-sign-in', publicUrl }, plainHttp);

  return {
    ports,
    tls,
    smarthost: config.smarthost ? describeSmarthost(config.smarthost) : undefined,
    sandbox: sandbox !== undefined,
    warnings: plainHttp ? [plainHttp] : [],
    async stop() {
      accepting = false;
      rmSync(listenersPath, { force: true });
      await smtp?.close(config.shutdownTimeout);
      await listening?.stop();
      clearTimeout(notified);
      await worker?.stop();
      await courier.close();
      clearInterval(usageTimer);
      await maintenance?.stop();
      await orphanSweep?.stop();
      await eventJob?.stop();
      await dkimJob?.stop();
      await ldapJob?.stop();
      await networkClient.close();
      await credentials.flushUsage();
      await http.app.close();
      await store.close();
      log.info('relaygate stopped');
    },
  };
}

const LDAP_TICK_MS = 2000;

/** The parts of a gateway an instance runs: `all` is one self-contained gateway. */
function partsOf(role: Config['role']): { smtp: boolean; worker: boolean; http: boolean } {
  return { smtp: role === 'all' || role === 'smtp', worker: role === 'all' || role === 'worker', http: role === 'all' || role === 'http' };
}

/** A periodic job that never overlaps itself and whose failures are logged, not thrown. */
function every(ms: number, job: () => Promise<void>, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= job()
      .catch((err: unknown) => log.error({ err }, 'maintenance job failed; it runs again shortly'))
      .finally(() => {
        running = undefined;
      });
  }, ms);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Bodies whose message is gone or finished: a transfer cut short, or a crash after completion. */
async function removeOrphans(spool: Spool, queue: ReturnType<typeof sqlQueueStore>, log: Logger): Promise<void> {
  const files = await spool.list();
  const active = await queue.activeIds(files);
  const orphans = files.filter((f) => !active.has(f));
  for (const file of orphans) await spool.remove(file);
  if (orphans.length > 0) log.info({ count: orphans.length, ids: orphans }, `removed spool files without an active message: ${orphans.join(', ')}`);
}
