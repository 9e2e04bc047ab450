import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { describeSmarthost } from '../config/smarthost-url.js';
import type { Courier } from '../delivery/courier.js';
import { outboundCourier } from '../delivery/outbound-courier.js';
import { connectionDirectory } from '../directory/connections.js';
import { credentialDirectory } from '../directory/credentials.js';
import { senderAuthorization } from '../directory/sender-authorization.js';
import { startHttp } from '../http/server.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { routePolicy } from '../policy/route-policy.js';
import { composeSenderPolicies } from '../policy/sender-policy.js';
import { groupCommitter } from '../queue/group-commit.js';
import { Spool } from '../queue/spool.js';
import { startQueueWorker } from '../queue/worker.js';
import { FailureThrottle } from '../smtp/auth-throttle.js';
import { startSmtpListeners } from '../smtp/listeners.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { adminServices } from './admin-services.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

export interface Gateway {
  ports: { smtp: number; smtps: number; http: number };
  tls: TlsMaterial;
  smarthost: string | undefined;
  /** SIGTERM semantics: stop accepting, let sessions finish, leave the queue intact. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  log?: Logger;
  clock?: Clock;
}

/** Written once every listener is up, for scripts and tests that start on port 0. */
export const LISTENERS_FILE = 'listeners.json';

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(config);
  const queue = sqlQueueStore(store.db, store.syncCommitted);
  const spool = new Spool(join(config.dataDir, 'spool'));
  await spool.init();
  await removeOrphans(spool, queue, log);
  // One embedded store serves one gateway: leases left by a killed process are void.
  await queue.releaseLeases('all');

  const directoryContext = { db: store.db, clock, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
  const tls = await loadTlsMaterial(config);
  const credentials = credentialDirectory(store, clock);
  const senderPolicy = composeSenderPolicies([senderAuthorization(directoryContext), routePolicy(directoryContext)]);
  const courier: Courier = outboundCourier(config, connectionDirectory(directoryContext, config), clock);
  const worker = startQueueWorker({
    store: queue,
    spool,
    courier,
    clock,
    log,
    retry: { initialMs: config.queue.retryInitial, maxMs: config.queue.retryMax },
    expireAfterMs: config.queue.expireAfter,
    concurrency: config.queue.concurrency,
    leaseMs: config.queue.lease,
    hostname: config.hostname,
    owner: `${process.pid}-${randomBytes(4).toString('hex')}`,
  });

  const smtp = await startSmtpListeners(
    {
      host: config.smtp.listenHost,
      port: config.smtp.port,
      smtpsPort: config.smtp.smtpsPort,
      hostname: config.hostname,
      tls,
      maxMessageBytes: config.smtp.maxMessageBytes,
      maxRecipients: config.smtp.maxRecipients,
      maxConnections: config.smtp.maxConnections,
      idleTimeoutMs: config.smtp.idleTimeout,
      budgets: { commandTimeoutMs: config.smtp.commandTimeout, dataTimeoutMs: config.smtp.dataTimeout },
      log,
    },
    {
      credentials,
      accept: {
        spool,
        committer: groupCommitter(spool, queue),
        clock,
        hostname: config.hostname,
        maxMessageBytes: config.smtp.maxMessageBytes,
        expireAfterMs: config.queue.expireAfter,
        senderPolicy,
      },
      throttleByIp: new FailureThrottle(config.smtp.authFailuresPerIp, config.smtp.authFailureWindow, clock),
      throttleByUser: new FailureThrottle(config.smtp.authFailuresPerUser, config.smtp.authFailureWindow, clock),
      senderPolicy,
      log,
      onQueued: () => worker.wake(),
    },
  );
  let accepting = true;
  const services = adminServices(directoryContext, config);
  const http = await startHttp(
    config.http.listenHost,
    config.http.port,
    {
      async ready() {
        if (!accepting) throw new Error('shutting down');
        await queue.nextDueAt();
      },
    },
    services,
  );
  const usageTimer = setInterval(() => void credentials.flushUsage().catch((err: unknown) => log.error({ err }, 'recording credential use failed')), 1000);
  usageTimer.unref();

  const ports = { smtp: smtp.ports.smtp, smtps: smtp.ports.smtps, http: http.port };
  const listenersPath = join(config.dataDir, LISTENERS_FILE);
  writeFileSync(listenersPath, `${JSON.stringify({ pid: process.pid, host: config.smtp.listenHost, ...ports })}\n`);
  log.info({ ...ports, dataDir: config.dataDir, smarthost: config.smarthost ? describeSmarthost(config.smarthost) : null }, 'relaygate started');

  return {
    ports,
    tls,
    smarthost: config.smarthost ? describeSmarthost(config.smarthost) : undefined,
    async stop() {
      accepting = false;
      rmSync(listenersPath, { force: true });
      await smtp.close(config.shutdownTimeout);
      await worker.stop();
      await courier.close();
      clearInterval(usageTimer);
      await credentials.flushUsage();
      await http.app.close();
      await store.close();
      log.info('relaygate stopped');
    },
  };
}

/** Bodies whose message is gone or finished: a transfer cut short, or a crash after completion. */
async function removeOrphans(spool: Spool, queue: ReturnType<typeof sqlQueueStore>, log: Logger): Promise<void> {
  const files = await spool.list();
  const active = await queue.activeIds(files);
  const orphans = files.filter((f) => !active.has(f));
  for (const file of orphans) await spool.remove(file);
  if (orphans.length > 0) log.info({ count: orphans.length }, 'removed spool files without an active message');
}
