import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import { secureSenders } from '../directory/secure-senders.js';
import { deliveryEvents } from '../events/delivery-events.js';
import { countDeliveryAttempt, queueListenMetrics, sessionCounter, smtpObserver } from '../http/metrics.js';
import { type Mount, startHttp } from '../http/server.js';
import { authenticateMessage } from '../inbound/authentication-results.js';
import { synchronousHandoff } from '../inbound/synchronous-handoff.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import type { Clock } from '../lib/clock.js';
import { groupCommitter } from '../queue/group-commit.js';
import { type QueueWorker, startQueueWorker } from '../queue/worker.js';
import { messageSealer } from '../secure/message-sealer.js';
import { secureReplies } from '../secure/secure-replies.js';
import { authThrottle } from '../smtp/auth-throttle.js';
import { userLock } from '../smtp/auth-user-lock.js';
import { type SmtpListenerOptions, type SmtpListeners, startSmtpListeners } from '../smtp/listeners.js';
import type { SessionDeps } from '../smtp/session-handlers.js';
import { writeHeartbeat } from '../store/heartbeat.js';
import { sqlInboundRecipientStore } from '../store/inbound-recipients/index.js';
import type { Listening } from '../store/postgres/listen-connection.js';
import { sqlRouteStore } from '../store/routes/index.js';
import { sharedCounters } from '../store/shared-counters.js';
import { QUEUE_CHANNEL } from '../store/sql-queue-store.js';
import type { GatewayParts } from './compose.js';
import { type LateParts, smtpNotListening } from './late-parts.js';
import { listenFailed } from './listen-error.js';
import type { OpenStore } from './open-store.js';
import { readinessProbe } from './readiness.js';
import { secureStores } from './secure-stores.js';
import { sessionDirectory } from './session-directory.js';
import type { TlsMaterial } from './tls-material.js';
import type { WakeBus } from './wake-bus.js';

/** The parts of a gateway an instance runs: `all` is one self-contained gateway. */
export interface RoleParts {
  /** The submission, implicit-TLS and relay listeners. */
  smtp: boolean;
  /** The queue worker and the background jobs. */
  worker: boolean;
  /** The admin API, SCIM, the portal and the console; every role answers health and metrics. */
  http: boolean;
}

export function partsOf(role: Config['role']): RoleParts {
  return { smtp: role === 'all' || role === 'smtp', worker: role === 'all' || role === 'worker', http: role === 'all' || role === 'http' };
}

/** How much later than the accepting instance's own worker the other instances react to new work. */
const PEER_WAKE_DELAY_MS = 50;

/** The HTTP listener, with what `mounts` puts on it; `late.publicUrl` is settled here when none is configured. */
export async function startHttpPart(
  config: Pick<Config, 'http' | 'smtp' | 'queue'>,
  o: { parts: Pick<GatewayParts, 'health' | 'metrics'>; store: Pick<OpenStore, 'db' | 'syncCommitted'>; clock: Clock; late: LateParts; mounts: Mount[] },
): Promise<{ app: FastifyInstance; port: number }> {
  const { health } = o.parts;
  const { late, store, clock } = o;
  const http = await startHttp(
    config.http.listenHost,
    config.http.port,
    readinessProbe({
      accepting: () => late.accepting,
      writeHeartbeat: () => writeHeartbeat(store.db, store.syncCommitted, clock.now()),
      storeNotDurable: health.storeNotDurable,
      smtpNotListening: () => smtpNotListening(late),
      diskShortage: health.diskShortage,
      minFreeBytes: health.minFreeBytes,
      queueWakeups: () => late.listening?.state(),
      pollMs: config.queue.pollInterval,
    }),
    { metrics: o.parts.metrics.registry, trustedProxies: config.http.trustedProxies, mounts: o.mounts },
  ).catch(listenFailed(config, 'http'));
  late.publicUrl ||= `http://${config.http.listenHost.includes(':') ? `[${config.http.listenHost}]` : config.http.listenHost}:${http.port}`;
  return http;
}

/** The queue worker, and on PostgreSQL the NOTIFY wake-ups from the other instances. */
export interface WorkerPart {
  worker: QueueWorker;
  listening: Listening | undefined;
  /** The wake-ups first, then the worker: its deliveries in flight finish. */
  stop(): Promise<void>;
}

export async function startWorkerPart(
  config: Pick<Config, 'queue' | 'hostname'>,
  o: { parts: GatewayParts; store: Pick<OpenStore, 'listen'>; clock: Clock; log: Logger; instance: string; wake: WakeBus },
): Promise<WorkerPart> {
  const { queue, spool, courier, vault, targets, metrics } = o.parts;
  const worker = startQueueWorker({
    store: queue,
    spool,
    courier,
    clock: o.clock,
    log: o.log,
    retry: { initialMs: config.queue.retryInitial, maxMs: config.queue.retryMax },
    expireAfterMs: config.queue.expireAfter,
    concurrency: config.queue.concurrency,
    leaseMs: config.queue.lease,
    pollMs: config.queue.pollInterval,
    hostname: config.hostname,
    owner: `${o.instance}:${process.pid}-${randomBytes(4).toString('hex')}`,
    readHead: (message, maxBytes) => (message.direction === 'secure' ? vault.readHead(message.id, maxBytes) : spool.readHead(message.id, maxBytes)),
    // Delivery events are stored only when some webhook could receive them.
    deliveryEvents: deliveryEvents({ wanted: () => targets.anyWebhook(), expireAfterMs: config.queue.expireAfter }),
    observe: (message, update, now) => countDeliveryAttempt(metrics, message, update, now),
  });
  o.wake.attach(worker);
  // Work queued by another instance (its SMTP, portal or console) wakes this worker, a moment
  // later than the accepting instance wakes its own: that one holds the body in memory and
  // usually takes the message, and the others take what it cannot (measured: without the
  // delay, every instance raced for every message, and bodies were read back from the store).
  let notified: NodeJS.Timeout | undefined;
  const listening = o.store.listen
    ? await o.store.listen(QUEUE_CHANNEL, () => {
        notified ??= setTimeout(() => {
          notified = undefined;
          worker.wake();
        }, PEER_WAKE_DELAY_MS);
      })
    : undefined;
  if (listening) queueListenMetrics(metrics.registry, listening.state);
  return {
    worker,
    listening,
    async stop() {
      await listening?.stop();
      clearTimeout(notified);
      await worker.stop();
    },
  };
}

/** The submission, implicit-TLS and relay listeners, with the session hooks behind them. */
export async function startSmtpPart(
  config: Pick<Config, 'smtp' | 'hostname' | 'inbound' | 'queue' | 'http'>,
  o: {
    parts: GatewayParts;
    store: Pick<OpenStore, 'db' | 'hashKey'>;
    clock: Clock;
    log: Logger;
    tls: TlsMaterial;
    clientCa: string | undefined;
    wake: WakeBus;
  },
): Promise<SmtpListeners> {
  const options: SmtpListenerOptions = {
    host: config.smtp.listenHost,
    port: config.smtp.port,
    smtpsPort: config.smtp.smtpsPort,
    relayPort: config.smtp.relayPort,
    clientCa: o.clientCa,
    hostname: config.hostname,
    tls: o.tls,
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
    log: o.log,
    sessions: sessionCounter(o.parts.metrics),
  };
  return startSmtpListeners(options, sessionDeps(config, o)).catch(listenFailed(config, 'smtp'));
}

function sessionDeps(
  config: Pick<Config, 'smtp' | 'hostname' | 'inbound' | 'queue'>,
  o: { parts: GatewayParts; store: Pick<OpenStore, 'db' | 'hashKey'>; clock: Clock; log: Logger; wake: WakeBus },
): SessionDeps {
  const { parts, store, clock, log } = o;
  const { spool, queue, senderPolicy, targets } = parts;
  const counters = sharedCounters(store.db);
  const acceptance = {
    spool,
    committer: groupCommitter(spool, queue),
    clock,
    hostname: config.hostname,
    maxMessageBytes: config.smtp.maxMessageBytes,
    maxReceived: config.smtp.maxReceived,
    expireAfterMs: config.queue.expireAfter,
    verificationArrived: (token: string, relay: RelayFacts) => parts.connector.arrived(token, relay),
  };
  return {
    credentials: parts.credentials,
    directory: sessionDirectory(store),
    allowUnauthenticated: config.inbound.allowUnauthenticated,
    acceptInbound: {
      ...acceptance,
      authenticate: (input) => authenticateMessage({ ...input, resolver: parts.resolver }),
      synchronous: synchronousHandoff({
        recipients: (address) => lookUpInboundRecipient(sqlInboundRecipientStore(store.db), address),
        targets,
        webhooks: parts.webhooks.delivery,
        spool,
        log,
      }),
      secureReplies: secureReplies({
        senders: secureSenders({ routes: sqlRouteStore(store.db), inboundRecipients: sqlInboundRecipientStore(store.db) }, parts.directoryContext),
        messages: secureStores(store.db).messages,
        hashKey: store.hashKey,
      }),
    },
    accept: { ...acceptance, senderPolicy },
    acceptSecure: { ...acceptance, senderPolicy, sealer: messageSealer(parts.kek, store.hashKey), retentionMsOf: parts.routes.secureRetentionMs },
    routes: parts.routes,
    throttleByIp: authThrottle(counters, 'smtp-auth-ip', config.smtp.authFailuresPerIp, config.smtp.authFailureWindow, clock),
    userLock: userLock(
      counters,
      {
        failuresPerUser: config.smtp.authFailuresPerUser,
        failureWindowMs: config.smtp.authFailureWindow,
        knownSourceWindowMs: config.smtp.authKnownSourceWindow,
      },
      clock,
    ),
    senderPolicy,
    log,
    onQueued: () => o.wake.wake(),
    observe: smtpObserver(parts.metrics),
    storageShortage: parts.health.diskShortage,
    storeNotDurable: parts.health.storeNotDurable,
  };
}
