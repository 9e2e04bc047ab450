import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Connector } from '../connector/connector.js';
import type { CredentialDirectory } from '../directory/credentials.js';
import type { LdapSync } from '../directory/ldap-sync.js';
import type { DkimDirectory } from '../dkim/index.js';
import type { eventDispatcher } from '../events/event-dispatcher.js';
import { purgeRetainedBodies } from '../inbound/body-retention.js';
import type { Clock } from '../lib/clock.js';
import type { QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import { sweepSecureRetention } from '../secure/retention.js';
import type { SecureVault } from '../secure/vault.js';
import { exclusively } from '../store/exclusive-job.js';
import type { OpenStore } from './open-store.js';
import type { RoleParts } from './roles.js';
import { secureStores } from './secure-stores.js';

/** One background job: what it is, how often it runs, and how it starts; a started job stops once its current run is over. */
export interface BackgroundJob {
  name: string;
  intervalMs: number;
  start(): { stop(): Promise<void> };
}

export interface JobDeps {
  config: Pick<Config, 'dkim' | 'verification' | 'inbound'>;
  runs: Pick<RoleParts, 'worker'>;
  store: Pick<OpenStore, 'db' | 'engine'>;
  log: Logger;
  clock: Clock;
  queue: QueueStore;
  spool: Spool;
  vault: SecureVault;
  credentials: Pick<CredentialDirectory, 'flushUsage'>;
  connector: Pick<Connector, 'sweep'>;
  events: Pick<ReturnType<typeof eventDispatcher>, 'dispatch'>;
  dkimKeeper: Pick<DkimDirectory, 'domainsToCheck' | 'check'>;
  directoryPull: Pick<LdapSync, 'runIfDue'>;
}

const LDAP_TICK_MS = 2000;

/**
 * The background jobs this instance runs, in their stop order. Every role records credential
 * use; the rest belong to the worker's role, and each takes a store-wide lock where several
 * instances share the store, so that one of them runs it at a time.
 */
export function backgroundJobs(d: JobDeps): BackgroundJob[] {
  const worker = d.runs.worker;
  return [
    usageFlush(d),
    ...(worker ? [maintenance(d)] : []),
    // Instances on PostgreSQL run for months: bodies of transfers cut short by a crash elsewhere go hourly, not only at a start.
    ...(worker && d.store.engine === 'postgres' ? [orphanSweep(d)] : []),
    ...(worker ? [eventDispatch(d)] : []),
    ...(worker && d.config.dkim.checkInterval > 0 ? [dkimChecks(d)] : []),
    ...(worker ? [ldapPull(d)] : []),
  ];
}

/** Starts the jobs; `stop()` stops them one after the other, in the list's order. */
export function startJobs(jobs: BackgroundJob[]): { stop(): Promise<void> } {
  const started = jobs.map((job) => job.start());
  return {
    async stop() {
      for (const job of started) await job.stop();
    },
  };
}

/** Every second, whatever the last one's outcome: use counts are kept in memory until then. */
function usageFlush(d: Pick<JobDeps, 'credentials' | 'log'>): BackgroundJob {
  const intervalMs = 1000;
  return {
    name: 'credential usage flush',
    intervalMs,
    start() {
      const timer = setInterval(
        () => void d.credentials.flushUsage().catch((err: unknown) => d.log.error({ err }, 'recording credential use failed')),
        intervalMs,
      );
      timer.unref();
      return { stop: async () => clearInterval(timer) };
    },
  };
}

function maintenance(d: JobDeps): BackgroundJob {
  return periodic('maintenance', Math.max(200, Math.min(5000, d.config.verification.timeout / 4)), d.log, () =>
    exclusively(d.store.db, 'maintenance', async () => {
      await d.connector.sweep();
      const now = d.clock.now();
      await purgeRetainedBodies(d.queue, d.spool, now - d.config.inbound.retainBodies, now);
      const swept = await sweepSecureRetention({ messages: secureStores(d.store.db).messages, vault: d.vault, now });
      if (swept.shredded > 0) d.log.info({ event: 'secure.retention', shredded: swept.shredded }, 'shredded secure messages past their retention');
    }),
  );
}

function orphanSweep(d: JobDeps): BackgroundJob {
  return periodic('orphan sweep', 60 * 60_000, d.log, () => exclusively(d.store.db, 'orphan-bodies', () => removeOrphans(d.spool, d.queue, d.log)));
}

function eventDispatch(d: JobDeps): BackgroundJob {
  return periodic('event dispatch', 1000, d.log, async () => void (await d.events.dispatch()));
}

function dkimChecks(d: JobDeps): BackgroundJob {
  return periodic('DKIM checks', d.config.dkim.checkInterval, d.log, () =>
    exclusively(d.store.db, 'dkim-checks', async () => {
      for (const domain of await d.dkimKeeper.domainsToCheck()) {
        const checked = await d.dkimKeeper.check(domain, { name: 'system:dkim-schedule', ip: null }, { quiet: true }).catch((err: unknown) => {
          d.log.warn({ domain, err: (err as Error).message }, 'scheduled DKIM check failed; it runs again at the next interval');
          return undefined;
        });
        for (const change of checked?.changes ?? []) d.log.info({ event: 'dkim.key.state', domain, ...change }, 'DKIM key moved on');
      }
    }),
  );
}

function ldapPull(d: JobDeps): BackgroundJob {
  return periodic('LDAP pull', LDAP_TICK_MS, d.log, async () => {
    // One instance at a time: runIfDue takes the pull's lock and checks the interval under it.
    const outcome = await d.directoryPull.runIfDue();
    if (!outcome) return;
    const counts = { changes: outcome.result?.changes.length ?? 0, refused: outcome.result?.refused.length ?? 0 };
    if (outcome.status === 'ok') d.log.info({ event: 'directory.sync', ...counts }, 'LDAP directory pulled');
    else d.log.warn({ event: 'directory.sync.failed', status: outcome.status, err: outcome.error }, `LDAP directory pull changed nothing: ${outcome.error}`);
  });
}

/** A periodic job that never overlaps itself and whose failures are logged, not thrown. */
function periodic(name: string, intervalMs: number, log: Logger, job: () => Promise<void>): BackgroundJob {
  return {
    name,
    intervalMs,
    start() {
      let running: Promise<void> | undefined;
      const timer = setInterval(() => {
        running ??= job()
          .catch((err: unknown) => log.error({ err }, 'maintenance job failed; it runs again shortly'))
          .finally(() => {
            running = undefined;
          });
      }, intervalMs);
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}

/** Bodies whose message is gone or finished: a transfer cut short, or a crash after completion. */
export async function removeOrphans(spool: Spool, queue: Pick<QueueStore, 'activeIds'>, log: Logger): Promise<void> {
  const files = await spool.list();
  const active = await queue.activeIds(files);
  const orphans = files.filter((f) => !active.has(f));
  for (const file of orphans) await spool.remove(file);
  if (orphans.length > 0) log.info({ count: orphans.length, ids: orphans }, `removed spool files without an active message: ${orphans.join(', ')}`);
}
