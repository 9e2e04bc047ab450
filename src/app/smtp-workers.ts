import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Spool } from '../queue/spool.js';
import type { ListenerName, SmtpListeners } from '../smtp/listeners.js';
import { addCounted } from './acceptor-counters.js';
import { type FromAcceptor, receivedError, type ToAcceptor } from './smtp-worker-messages.js';
import type { WakeBus } from './wake-bus.js';

/**
 * The SMTP listeners as `smtp.workers` processes (node:cluster) share them: each acceptor
 * (src/app/smtp-acceptor.ts) binds the three ports through the primary, which hands every new
 * connection to the next acceptor in turn (cluster's round robin, the default on Linux), so one
 * busy session does not hold the others back and every core runs sessions. The primary keeps
 * everything else of the gateway: the queue worker and its leases, the jobs, HTTP. What the
 * acceptors commit wakes the primary's worker (a `queued` message).
 *
 * An acceptor that dies is started again (after a second when it did not stay up 10 s); the
 * mail it answered 250 is committed, what it had not answered its clients send again. The
 * primary's exit closes the IPC channel, on which the acceptors finish their sessions and end.
 */
export async function startSmtpWorkers(
  config: Config,
  o: { log: Logger; wake: Pick<WakeBus, 'wake'>; publicUrl: string; parts: { metrics: { registry: Registry }; spool: Pick<Spool, 'keep' | 'forget'> } },
): Promise<SmtpListeners> {
  const count = config.smtp.workers;
  cluster.setupPrimary({ exec: acceptorEntry(), args: [], serialization: 'advanced' });
  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: undefined, listening: false, startedAt: 0 }));
  const pendingSessions = new Map<number, (open: Record<ListenerName, number>) => void>();
  let stopping = false;
  let queryId = 0;

  const start = (index: number): Promise<FromAcceptor & { kind: 'listening' }> =>
    new Promise((resolve, reject) => {
      const slot = slots[index] as Slot;
      const worker = cluster.fork();
      Object.assign(slot, { worker, listening: false, startedAt: Date.now() });
      let up = false;
      const heard = fromAcceptor(o, pendingSessions);
      worker.on('message', (message: FromAcceptor) => {
        if (message.kind === 'ready') post(worker, { kind: 'start', config, publicUrl: o.publicUrl, index: index + 1 });
        else if (message.kind === 'listening') {
          slot.listening = true;
          up = true;
          resolve(message);
        } else if (message.kind === 'failed') reject(receivedError(message.error));
        else heard(message);
      });
      worker.once('exit', (code, signal) => {
        slot.listening = false;
        slot.worker = undefined;
        if (!up) reject(new Error(`SMTP worker ${index + 1} ended before its listeners were up (${signal ?? `exit code ${code}`})`));
        if (stopping || !up) return;
        const shortLived = Date.now() - slot.startedAt < 10_000;
        o.log.error({ event: 'smtp.worker.exit', worker: index + 1, code, signal }, 'an SMTP worker ended; it is started again');
        restartLater(index, shortLived ? 1000 : 0);
      });
    });

  // Until it is up again: a store that is away for a while (PostgreSQL restarting) fails a start, not the next one.
  const restartLater = (index: number, delayMs: number): void => {
    setTimeout(() => {
      if (stopping) return;
      start(index).catch((err: unknown) => {
        o.log.error({ err, worker: index + 1 }, 'an SMTP worker could not be started again; trying again in a second');
        restartLater(index, 1000);
      });
    }, delayMs).unref();
  };

  const stopAll = (graceMs: number) => {
    stopping = true;
    return Promise.all(slots.map((slot) => (slot.worker ? stopWorker(slot.worker, graceMs) : undefined))).then(() => undefined);
  };
  let started: (FromAcceptor & { kind: 'listening' })[];
  try {
    started = await Promise.all(slots.map((_, index) => start(index)));
  } catch (err) {
    await stopAll(0);
    throw err;
  }
  const ports = (started[0] as FromAcceptor & { kind: 'listening' }).ports;
  o.log.info({ event: 'smtp.workers', workers: count }, `${count} SMTP workers share the listeners`);
  return {
    ports,
    async openSessions() {
      const answers = await Promise.all(
        slots.map((slot) => (slot.listening && slot.worker ? askSessions(slot.worker, ++queryId, pendingSessions) : undefined)),
      );
      const total: Record<ListenerName, number> = { submission: 0, smtps: 0, relay: 0 };
      for (const open of answers) for (const name of Object.keys(total) as ListenerName[]) total[name] += open?.[name] ?? 0;
      return total;
    },
    notListening: () =>
      slots.flatMap((slot, index) => (slot.listening ? [] : [`SMTP worker ${index + 1} of ${count} (ports ${ports.smtp}, ${ports.smtps}, ${ports.relay})`])),
    close: stopAll,
  };
}

/** What an acceptor reports while it runs: commits, bodies for delivery, counters, open sessions. */
function fromAcceptor(
  o: { wake: Pick<WakeBus, 'wake'>; parts: { metrics: { registry: Registry }; spool: Pick<Spool, 'keep' | 'forget'> } },
  pendingSessions: Map<number, (open: Record<ListenerName, number>) => void>,
): (message: FromAcceptor) => void {
  // Per process: one started again counts from 0.
  const counted = new Map<string, number>();
  return (message) => {
    if (message.kind === 'queued') o.wake.wake();
    // Structured clone gives a Buffer back as a plain Uint8Array.
    else if (message.kind === 'body') o.parts.spool.keep(message.id, Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength));
    else if (message.kind === 'forget') o.parts.spool.forget(message.id);
    else if (message.kind === 'counted') addCounted(o.parts.metrics.registry, counted, message.values);
    else if (message.kind === 'sessions') pendingSessions.get(message.id)?.(message.open);
  };
}

interface Slot {
  worker: Worker | undefined;
  listening: boolean;
  startedAt: number;
}

/** The acceptor's module beside this one: .ts when the gateway runs from source (tsx, which the fork inherits in execArgv), .js when built. */
function acceptorEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./smtp-acceptor${extname(here)}`, import.meta.url));
}

function post(worker: Worker, message: ToAcceptor): void {
  try {
    worker.send(message);
  } catch {
    // The worker is ending: its exit is handled where it was started.
  }
}

/** The worker stops accepting and finishes its sessions within graceMs; one that outlasts that by far is killed. */
function stopWorker(worker: Worker, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    const kill = setTimeout(() => worker.process.kill('SIGKILL'), graceMs + 10_000);
    worker.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    post(worker, { kind: 'stop', graceMs });
  });
}

function askSessions(
  worker: Worker,
  id: number,
  pending: Map<number, (open: Record<ListenerName, number>) => void>,
): Promise<Record<ListenerName, number> | undefined> {
  return new Promise((resolve) => {
    const late = setTimeout(() => {
      pending.delete(id);
      resolve(undefined);
    }, 1000);
    pending.set(id, (open) => {
      pending.delete(id);
      clearTimeout(late);
      resolve(open);
    });
    post(worker, { kind: 'sessions', id });
  });
}
