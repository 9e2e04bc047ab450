import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DnsResponse } from '../dns/resolver.js';
import type { WebhookAnswer } from '../inbound/webhook-client.js';
import type { DueMessage, RecipientUpdate } from '../queue/queue-store.js';
import type { SessionCounter } from '../smtp/listeners.js';
import type { SmtpObserver } from '../smtp/session-handlers.js';
import type { StoreDurability } from '../store/durability.js';
import type { ListenState } from '../store/postgres/listen-connection.js';
import type { QueueDepth } from '../store/traffic-stats.js';

export interface MetricsSources {
  /** Read at each scrape: the queue gauges are the store's truth, not a running tally. */
  queueDepth(): Promise<QueueDepth>;
  /** SMTP connections open now, by listener name. */
  openSessions(): Promise<Record<string, number>>;
  now(): number;
  /** A failed scrape-time query is logged and leaves the gauges at their last values. */
  onCollectError(err: unknown): void;
}

/**
 * Acceptance to delivery, in seconds: a smarthost hand-off takes well under a second, a
 * retried recipient minutes to hours (queue.retryMax), an expiring one up to days.
 */
const LATENCY_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400];

/** The failure reasons a label may carry (model/outcome.ts FailureReason): anything else is `unknown`, so the label set stays bounded. */
const FAILURE_REASONS = new Set([
  'remote-reply',
  'connection',
  'tls',
  'auth',
  'config',
  'application',
  'expired',
  'dns',
  'dane',
  'mta-sts',
  'tls-policy',
  'final-dot-timeout',
  'body-torn',
  'body-missing',
  'unknown',
]);
/** Reasons that mean a TLS check (ours, DANE's, MTA-STS's, or the handshake's) stopped a delivery. */
const TLS_CHECKS = new Set(['dane', 'mta-sts', 'tls-policy', 'tls']);
const OUTCOME_OF_STATUS = { delivered: 'delivered', deferred: 'deferred', bounced: 'bounced', failed: 'parked', queued: 'deferred' } as const;

/**
 * The gateway's Prometheus metrics, served at /metrics. One registry per gateway, so tests can
 * run several. No label ever carries an address, a message id or free text: each label's values
 * are a small closed set (RFC vocabulary, our own enums), so the series count stays bounded.
 */
export function gatewayMetrics(sources?: MetricsSources) {
  const registry = new Registry();
  const registers = [registry];
  const m = {
    registry,
    legChecks: new Counter({
      name: 'relaygate_connection_checks_total',
      help: 'Verification round trips of a connector leg that ended, by leg and result.',
      labelNames: ['domain', 'leg', 'result'] as const,
      registers,
    }),
    legUp: new Gauge({
      name: 'relaygate_connection_leg_up',
      help: '1 when the last check of the leg passed, 0 when it failed.',
      labelNames: ['domain', 'leg'] as const,
      registers,
    }),
    smtpConnections: new Counter({
      name: 'relaygate_smtp_connections_total',
      help: 'SMTP connections accepted, by listener (submission with STARTTLS, or smtps).',
      labelNames: ['listener'] as const,
      registers,
    }),
    smtpAuth: new Counter({
      name: 'relaygate_smtp_auth_total',
      help: 'SMTP AUTH attempts, by mechanism and result: success, or why it failed (wrong-secret, unknown-username, certificate-only, revoked, expired, retired, network-not-allowed, throttled, error). Mechanism EXTERNAL: a client certificate judged at MAIL FROM on the relay port (success, refused, revoked).',
      labelNames: ['mechanism', 'result'] as const,
      registers,
    }),
    messagesAccepted: new Counter({
      name: 'relaygate_messages_accepted_total',
      help: 'Messages accepted with a 2xx at the end of DATA, by direction (outbound, inbound, secure).',
      labelNames: ['direction'] as const,
      registers,
    }),
    smtpRefusals: new Counter({
      name: 'relaygate_smtp_refusals_total',
      help: 'Connections turned away and commands of a mail transaction refused, by stage (connect, mail_from, rcpt_to, data) and reply ("550 5.7.1": basic and enhanced status code).',
      labelNames: ['stage', 'status'] as const,
      registers,
    }),
    deliveryAttempts: new Counter({
      name: 'relaygate_delivery_attempts_total',
      help: 'Recipient delivery attempts recorded, by direction, outcome (delivered, deferred, bounced, parked) and failure reason (none when delivered).',
      labelNames: ['direction', 'outcome', 'reason'] as const,
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'relaygate_delivery_latency_seconds',
      help: 'Time from acceptance to delivery of each delivered recipient, by direction.',
      labelNames: ['direction'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    tlsPolicyDeliveries: new Counter({
      name: 'relaygate_tls_policy_deliveries_total',
      help: 'Recipients delivered by direct MX delivery, by the TLS policy applied and how the peer was authenticated.',
      labelNames: ['policy', 'peer_authentication'] as const,
      registers,
    }),
    tlsPolicyRefusals: new Counter({
      name: 'relaygate_tls_policy_refusals_total',
      help: 'Recipient delivery attempts stopped by a TLS check (dane, mta-sts, tls-policy, tls), by check.',
      labelNames: ['check'] as const,
      registers,
    }),
    webhookRequests: new Counter({
      name: 'relaygate_webhook_requests_total',
      help: 'Webhook calls to applications, by outcome (accepted: 2xx, refused: 422, unavailable: other answers or unreachable, timeout).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    dnsLookups: new Counter({
      name: 'relaygate_dns_lookups_total',
      help: 'DNS questions sent to the resolver (cache misses), by record type and result (noerror, nodata, nxdomain, servfail, other rcodes, timeout, failed).',
      labelNames: ['type', 'result'] as const,
      registers,
    }),
  };
  if (sources) {
    queueGauges(registry, sources);
    new Gauge({
      name: 'relaygate_smtp_sessions_open',
      help: 'SMTP sessions (TCP connections) open now, by listener.',
      labelNames: ['listener'] as const,
      registers,
      async collect() {
        for (const [listener, open] of Object.entries(await sources.openSessions())) this.set({ listener }, open);
      },
    });
  }
  return m;
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

function queueGauges(registry: Registry, sources: MetricsSources): void {
  // Both gauges come from one query per scrape: the first collect() asks, the second reuses it.
  let pending: Promise<QueueDepth | undefined> | undefined;
  const depth = () => {
    pending ??= sources
      .queueDepth()
      .catch((err: unknown) => {
        sources.onCollectError(err);
        return undefined;
      })
      .finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  new Gauge({
    name: 'relaygate_queue_recipients',
    help: 'Recipients in the queue, by status (queued, deferred, parked).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const d = await depth();
      if (!d) return;
      this.set({ status: 'queued' }, d.queued);
      this.set({ status: 'deferred' }, d.deferred);
      this.set({ status: 'parked' }, d.parked);
    },
  });
  new Gauge({
    name: 'relaygate_queue_oldest_age_seconds',
    help: 'Age of the oldest message with a recipient still queued or deferred; 0 when there is none.',
    registers: [registry],
    async collect() {
      const d = await depth();
      if (!d) return;
      this.set(d.oldestReceivedAt === null ? 0 : Math.max(0, (sources.now() - d.oldestReceivedAt) / 1000));
    },
  });
}

/** What the SMTP session handlers report, counted. */
export function smtpObserver(m: GatewayMetrics): SmtpObserver {
  return {
    auth: (mechanism, result) => m.smtpAuth.inc({ mechanism: /^(PLAIN|LOGIN)$/i.test(mechanism) ? mechanism.toUpperCase() : 'other', result }),
    accepted: (direction) => m.messagesAccepted.inc({ direction }),
    refused: (stage, reply) => m.smtpRefusals.inc({ stage, status: `${reply.code} ${reply.enhanced}` }),
  };
}

/** One recorded recipient outcome: counts, latency and, for direct delivery, the TLS policy outcome. */
export function countDeliveryAttempt(m: GatewayMetrics, message: DueMessage, update: RecipientUpdate, now: number): void {
  const outcome = OUTCOME_OF_STATUS[update.status];
  const reason = outcome === 'delivered' ? 'none' : FAILURE_REASONS.has(update.reason ?? '') ? (update.reason as string) : 'unknown';
  m.deliveryAttempts.inc({ direction: message.direction, outcome, reason });
  if (outcome === 'delivered') {
    m.deliveryLatency.observe({ direction: message.direction }, Math.max(0, (now - message.receivedAt) / 1000));
    if (update.evidence) m.tlsPolicyDeliveries.inc({ policy: update.evidence.policy, peer_authentication: update.evidence.peerAuthentication });
  } else if (TLS_CHECKS.has(reason)) m.tlsPolicyRefusals.inc({ check: reason });
}

export function webhookOutcomeOf(answer: WebhookAnswer): 'accepted' | 'refused' | 'unavailable' | 'timeout' {
  if (answer.kind === 'timeout') return 'timeout';
  if (answer.kind !== 'answered') return 'unavailable';
  if (answer.status >= 200 && answer.status < 300) return 'accepted';
  // HTTP 422 is how an application refuses a message for good (inbound/webhook-delivery.ts).
  return answer.status === 422 ? 'refused' : 'unavailable';
}

/** `nodata` is a NOERROR without a record of the type asked (RFC 2308 §2.2). */
export function dnsResultOf(type: string, response: DnsResponse): string {
  if (response.kind !== 'answer') return response.kind;
  if (response.rcode === 'NOERROR' && !response.answers.some((a) => a.type === type)) return 'nodata';
  return response.rcode.startsWith('RCODE_') ? 'other' : response.rcode.toLowerCase();
}

/** Connections accepted, per listener. */
export function sessionCounter(m: GatewayMetrics): SessionCounter {
  return { opened: (listener) => m.smtpConnections.inc({ listener }) };
}

/**
 * The worker's NOTIFY wake-ups on PostgreSQL: whether the LISTEN connection is up (while it is
 * down, new work waits for the next poll, queue.pollInterval) and how often it came back.
 */
export function queueListenMetrics(registry: Registry, state: () => ListenState): void {
  new Gauge({
    name: 'relaygate_queue_listen_connected',
    help: '1 while the LISTEN connection for queue wake-ups (PostgreSQL) is up, 0 while it is being re-established.',
    registers: [registry],
    collect() {
      this.set(state().connected ? 1 : 0);
    },
  });
  new Counter({
    name: 'relaygate_queue_listen_reconnects_total',
    help: 'Times the LISTEN connection for queue wake-ups was re-established after a loss.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(state().reconnects);
    },
  });
}

/**
 * Whether the store keeps what it commits: 0 from a failed sync (store/durability.ts) until
 * a verified checkpoint proves it again, and mail is refused meanwhile.
 */
export function storeDurabilityMetrics(registry: Registry, durability: Pick<StoreDurability, 'failure' | 'onChange'>): void {
  new Gauge({
    name: 'relaygate_store_durable',
    help: '1 while the store is durable; 0 from a failed sync of the store until a verified checkpoint proves it again (mail is refused with 451 4.3.0 meanwhile).',
    registers: [registry],
    collect() {
      this.set(durability.failure() ? 0 : 1);
    },
  });
  const failures = new Counter({
    name: 'relaygate_store_sync_failures_total',
    help: 'Times the store became not durable: a sync of it failed (fdatasync of the SQLite WAL), or the proof of a WAL left by the last run did.',
    registers: [registry],
  });
  durability.onChange((event) => {
    if (event.kind === 'lost') failures.inc();
  });
}

/** What the embedded store has written to storage (WAL appends, checkpoints), for bytes per message; not on PostgreSQL. */
export function storeWriteMetrics(registry: Registry, writtenBytes: () => Promise<number | undefined>): void {
  new Counter({
    name: 'relaygate_store_written_bytes_total',
    help: 'Bytes the embedded SQLite store has had written to storage since the gateway started: WAL frames and checkpoints (message bodies are counted apart, as spool files).',
    registers: [registry],
    async collect() {
      const bytes = await writtenBytes().catch(() => undefined);
      this.reset();
      if (bytes !== undefined) this.inc(bytes);
    },
  });
}

/** The directory cache's reads answered from memory and from the store, and its clears (src/app/directory-cache.ts). */
export function directoryCacheMetrics(registry: Registry, stats: () => { hits: number; misses: number; clears: number }): void {
  new Counter({
    name: 'relaygate_directory_cache_reads_total',
    help: 'Directory reads of sessions and deliveries (credentials, sender domains, routes, DKIM keys), by whether the cache answered them (hit) or the store did (miss).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const { hits, misses } = stats();
      this.reset();
      this.inc({ result: 'hit' }, hits);
      this.inc({ result: 'miss' }, misses);
    },
  });
  new Counter({
    name: 'relaygate_directory_cache_clears_total',
    help: 'Times the directory cache was emptied: a directory change seen (NOTIFY, the version poll or a check at AUTH or MAIL FROM) or a LISTEN connection back.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().clears);
    },
  });
}
