import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { describeSmarthost } from '../config/smarthost-url.js';
import { directoryCacheMetrics, storeDurabilityMetrics, storeWriteMetrics } from '../http/metrics.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { plainHttpSignInWarning } from '../lib/sign-in-url.js';
import type { SmtpListeners } from '../smtp/listeners.js';
import { composeGateway, type GatewayParts } from './compose.js';
import { endOnDamagedWal } from './damaged-wal.js';
import { prepareDataDir } from './data-dir.js';
import { logDurability } from './durability-log.js';
import { httpMounts } from './http-mounts.js';
import { instanceIdOf } from './instance-id.js';
import { backgroundJobs, startJobs } from './jobs.js';
import { lateParts } from './late-parts.js';
import { createLogger } from './logger.js';
import { type OpenStore, openStore } from './open-store.js';
import { partsOf, startHttpPart, startSmtpPart, startWorkerPart, type WorkerPart } from './roles.js';
import { startSmtpWorkers } from './smtp-workers.js';
import { loadClientCa, loadTlsMaterial, type TlsMaterial } from './tls-material.js';
import { wakeBus } from './wake-bus.js';

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

/** Written once every listener is up, for scripts and tests that start on port 0. */
export const LISTENERS_FILE = 'listeners.json';

/**
 * The start order: the store, every part built from the config, then the HTTP listener, the
 * worker and the SMTP listeners last (until then no session is open), then the background jobs.
 */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = options.clock ?? systemClock;
  prepareDataDir(config.dataDir);
  // Before the store: a certificate that cannot be used stops the start at once.
  const tls = await loadTlsMaterial(config);
  const clientCa = loadClientCa(config);
  // Named before the store opens: its sessions in pg_stat_activity carry the name.
  const instance = instanceIdOf(config.dataDir);
  const store = await openGatewayStore(config, instance, log);
  const runs = partsOf(config.role);
  const late = lateParts(config);
  const wake = wakeBus();
  const parts = await composeGateway({ config, log, clock, store, instance, runs, late });
  const mounts = runs.http ? httpMounts(config, { parts, store, clock, log, late, wake }) : [];
  const http = await startHttpPart(config, { parts, store, clock, late, mounts });
  const worker = runs.worker ? await startWorkerPart(config, { parts, store, clock, log, instance, wake }) : undefined;
  late.listening = worker?.listening;
  storeDurabilityMetrics(parts.metrics.registry, store.durability);
  if (store.writtenBytes) storeWriteMetrics(parts.metrics.registry, store.writtenBytes);
  directoryCacheMetrics(parts.metrics.registry, parts.directoryCache.stats);
  const smtp = runs.smtp ? await startSmtp(config, { parts, store, clock, log, tls, clientCa, wake, publicUrl: late.publicUrl }) : undefined;
  if (smtp) Object.assign(late.smtpEndpoints, { submissionPort: smtp.ports.smtp, implicitTlsPort: smtp.ports.smtps, relayPort: smtp.ports.relay });
  late.smtp = smtp;
  const jobs = startJobs(backgroundJobs({ config, runs, store, log, clock, ...parts }));
  const ports = { smtp: smtp?.ports.smtp ?? 0, smtps: smtp?.ports.smtps ?? 0, relay: smtp?.ports.relay ?? 0, http: http.port };
  const listenersPath = join(config.dataDir, LISTENERS_FILE);
  writeFileSync(listenersPath, `${JSON.stringify({ pid: process.pid, host: config.smtp.listenHost, ...ports })}\n`, { mode: 0o600 });
  const warnings = announce(config, {
    log,
    engine: store.engine,
    ports,
    sandbox: parts.sandbox !== undefined,
    publicUrl: runs.http ? late.publicUrl : undefined,
  });
  return {
    ports,
    tls,
    smarthost: config.smarthost ? describeSmarthost(config.smarthost) : undefined,
    sandbox: parts.sandbox !== undefined,
    warnings,
    stop: async () => {
      late.accepting = false;
      rmSync(listenersPath, { force: true });
      await drain(config, { smtp, worker, parts, jobs, http: http.app, store, log });
    },
  };
}

/** The listeners' sessions in this process (smtp.workers 1), or in that many acceptor processes sharing the listeners. */
function startSmtp(config: Config, o: Parameters<typeof startSmtpPart>[1] & { publicUrl: string }): Promise<SmtpListeners> {
  return config.smtp.workers > 1 ? startSmtpWorkers(config, o) : startSmtpPart(config, o);
}

/** The store, with its audit head and durability changes reported in the log. */
async function openGatewayStore(config: Config, instance: string, log: Logger): Promise<OpenStore> {
  const store = await openStore(config, { applicationName: `relaygate:${instance}`, log, proveLeftoverWal: true });
  // The head goes to the log stream too: a copy outside this host that truncation cannot reach.
  store.audit.onHead((head) => log.info({ event: 'audit.head', seq: head.seq, hash: head.hash }, 'audit log head'));
  store.durability.onChange(logDurability(log));
  store.durability.onChange(endOnDamagedWal(log));
  return store;
}

/** The start in the log; what it returns is said again in the banner. */
function announce(
  config: Pick<Config, 'role' | 'dataDir' | 'smarthost'>,
  o: { log: Logger; engine: OpenStore['engine']; ports: Gateway['ports']; sandbox: boolean; publicUrl: string | undefined },
): string[] {
  const { log } = o;
  log.info(
    {
      role: config.role,
      engine: o.engine,
      ...o.ports,
      dataDir: config.dataDir,
      smarthost: config.smarthost ? describeSmarthost(config.smarthost) : null,
      sandbox: o.sandbox,
    },
    'relaygate started',
  );
  if (o.sandbox)
    log.warn({ event: 'sandbox.on' }, 'SANDBOX MODE: every outgoing mail is captured in the sandbox mailbox and nothing is sent (relaygate sandbox list)');
  // Only the http role serves the console and the portal, where people sign in.
  const plainHttp = o.publicUrl !== undefined ? plainHttpSignInWarning(o.publicUrl) : undefined;
  if (plainHttp) log.warn({ event: 'http.plain-http-sign-in', publicUrl: o.publicUrl }, plainHttp);
  return plainHttp ? [plainHttp] : [];
}

/**
 * The stop order: no new sessions and the ones open finish, then no new claims and the
 * deliveries in flight finish, then the jobs, then what the parts hold open, the store last.
 */
async function drain(
  config: Pick<Config, 'shutdownTimeout'>,
  o: {
    smtp: SmtpListeners | undefined;
    worker: WorkerPart | undefined;
    parts: Pick<GatewayParts, 'courier' | 'networkClient' | 'credentials' | 'directoryCache'>;
    jobs: { stop(): Promise<void> };
    http: FastifyInstance;
    store: Pick<OpenStore, 'close'>;
    log: Logger;
  },
): Promise<void> {
  await o.smtp?.close(config.shutdownTimeout);
  await o.worker?.stop();
  await o.parts.courier.close();
  await o.jobs.stop();
  await o.parts.networkClient.close();
  await o.parts.credentials.flushUsage();
  await o.http.close();
  await o.parts.directoryCache.stop();
  await o.store.close();
  o.log.info('relaygate stopped');
}
