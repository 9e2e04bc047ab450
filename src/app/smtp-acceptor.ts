import cluster from 'node:cluster';
import type { Config } from '../config/schema.js';
import { BodyCache } from '../lib/body-cache.js';
import { systemClock } from '../lib/clock.js';
import type { SmtpListeners } from '../smtp/listeners.js';
import { countedValues } from './acceptor-counters.js';
import { composeGateway } from './compose.js';
import { endOnDamagedWal } from './damaged-wal.js';
import { logDurability } from './durability-log.js';
import { instanceIdOf } from './instance-id.js';
import { backgroundJobs, startJobs } from './jobs.js';
import { lateParts } from './late-parts.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import { startSmtpPart } from './roles.js';
import type { FromAcceptor, ToAcceptor } from './smtp-worker-messages.js';
import { sentError } from './smtp-worker-messages.js';
import { loadClientCa, loadTlsMaterial } from './tls-material.js';
import { wakeBus } from './wake-bus.js';

/**
 * An SMTP acceptor process (smtp.workers > 1; src/app/smtp-workers.ts forks it): the
 * listeners' sessions of the gateway and nothing else. It opens the store itself, spools and
 * group-commits what it accepts in its own process, so that a 250 here means what it means in
 * one process: committed and synced. After each commit it tells the primary, whose queue
 * worker delivers; it holds no lease, runs no background job but the credential use flush,
 * and serves no HTTP. Started by the primary's `start` message; ends when told to stop, or
 * when the primary is gone (its IPC channel closes).
 */
/** How often the primary's /metrics hears what this process counted. */
const COUNTERS_INTERVAL_MS = 1000;

const send = (message: FromAcceptor) => {
  if (process.connected) process.send?.(message);
};

if (cluster.isWorker) {
  process.once('message', (message: ToAcceptor) => {
    if (message.kind !== 'start') return;
    runAcceptor(message.config, message.publicUrl, message.index).catch((err: unknown) => {
      const failed: FromAcceptor = { kind: 'failed', error: sentError(err) };
      process.send?.(failed, undefined, undefined, () => process.exit(1));
    });
  });
  send({ kind: 'ready' });
}

async function runAcceptor(config: Config, publicUrl: string, index: number): Promise<void> {
  const log = createLogger(config.logLevel, undefined, config.logFormat).child({ smtpWorker: index });
  const clock = systemClock;
  const tls = await loadTlsMaterial(config);
  const clientCa = loadClientCa(config);
  const instance = instanceIdOf(config.dataDir);
  const store = await openStore(config, { applicationName: `relaygate:${instance}:smtp-${index}`, log });
  store.durability.onChange(logDurability(log));
  store.durability.onChange(endOnDamagedWal(log));
  const runs = { smtp: true, worker: false, http: false };
  const late = lateParts(config);
  late.publicUrl = publicUrl;
  const parts = await composeGateway({ config, log, clock, store, instance, runs, late, bodyCache: new ForwardedBodies() });
  const wake = wakeBus();
  wake.attach(queuedNotice());
  const smtp = await startSmtpPart(config, { parts, store, clock, log, tls, clientCa, wake });
  late.smtp = smtp;
  const jobs = startJobs(backgroundJobs({ config, runs, store, log, clock, ...parts }));
  const report = async () => send({ kind: 'counted', values: await countedValues(parts.metrics.registry) });
  const reporting = setInterval(() => void report(), COUNTERS_INTERVAL_MS);
  reporting.unref();
  const stop = onceOnly(async (graceMs: number) => {
    late.accepting = false;
    await smtp.close(graceMs);
    clearInterval(reporting);
    await report();
    await parts.courier.close();
    await jobs.stop();
    await parts.networkClient.close();
    await parts.credentials.flushUsage();
    await parts.directoryCache.stop();
    await store.close();
    process.disconnect?.();
  });
  process.on('message', (message: ToAcceptor) => answer(message, smtp, stop));
  // The primary is gone (killed, or it ended): nobody would deliver or restart; finish the sessions open and end.
  process.on('disconnect', () => void stop(config.shutdownTimeout).finally(() => process.exit(0)));
  // SIGTERM to the process group reaches every process: the primary says when to stop.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  send({ kind: 'listening', ports: smtp.ports });
}

function answer(message: ToAcceptor, smtp: SmtpListeners, stop: (graceMs: number) => Promise<void>): void {
  if (message.kind === 'stop') void stop(message.graceMs).finally(() => process.exit(0));
  else if (message.kind === 'sessions') void smtp.openSessions().then((open) => send({ kind: 'sessions', id: message.id, open }));
}

/** The wake-ups of one turn of the event loop as one message: a group commit queues many at once. */
function queuedNotice(): { wake(): void } {
  let pending = false;
  return {
    wake() {
      if (pending) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        send({ kind: 'queued' });
      });
    },
  };
}

/** The copies a spool would keep for delivery go to the primary, which delivers; none stays here. */
class ForwardedBodies extends BodyCache {
  override get(): undefined {
    return undefined;
  }

  override remember(id: string, body: Buffer): void {
    send({ kind: 'body', id, body });
  }

  override forget(id: string): void {
    send({ kind: 'forget', id });
  }
}

function onceOnly(work: (graceMs: number) => Promise<void>): (graceMs: number) => Promise<void> {
  let running: Promise<void> | undefined;
  return (graceMs) => (running ??= work(graceMs));
}
