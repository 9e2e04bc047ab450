import { Writable } from 'node:stream';
import type { AdminServices } from '../../src/api/api-context.js';
import { adminServices } from '../../src/app/admin-services.js';
import { type Gateway, startGateway } from '../../src/app/gateway.js';
import { createLogger } from '../../src/app/logger.js';
import { openStore } from '../../src/app/open-store.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { Actor } from '../../src/directory/context.js';
import type { NewCredential } from '../../src/directory/credentials.js';
import type { TokenScope } from '../../src/directory/token-scopes.js';
import { systemClock } from '../../src/lib/clock.js';
import { sqlQueueStore } from '../../src/store/sql-queue-store.js';
import type { Db } from '../../src/store/tables.js';
import { verifyTestDomains } from './gateway-process.js';
import { tempDir } from './temp-dir.js';
import { testDatabaseUrl } from './test-database.js';

/** The audit log's name for changes the harness makes. */
export const HARNESS_ACTOR: Actor = { name: 'test-harness', ip: null };

export interface TestGateway {
  gateway: Gateway;
  config: Config;
  dataDir: string;
  /** The gateway's JSON log lines, for assertions on what was logged. */
  logs: string[];
  /** A submission credential unless `options` say otherwise, made as `relaygate credential create` would; a certificate credential's secret is ''. */
  createCredential(description?: string, options?: Partial<NewCredential>): Promise<{ id: string; username: string; secret: string }>;
  revokeCredential(id: string): Promise<void>;
  /** The admin services on the gateway's store, as the CLI uses them beside a running gateway. */
  services<T>(work: (services: AdminServices) => Promise<T>): Promise<T>;
  /** Direct access to the store, for setting up what the test is not about. */
  db<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** A bearer token for the admin API, made as `relaygate token create` would. */
  createApiToken(description?: string, scope?: TokenScope): Promise<string>;
  /** `fetch` against the gateway's HTTP listener: api('/api/v1/tokens', { token }). */
  api(path: string, init?: { method?: string; token?: string; body?: unknown }): Promise<{ status: number; headers: Headers; body: unknown; text: string }>;
  queue(): Promise<ReturnType<typeof sqlQueueStore> & { close(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * A gateway in this process on ephemeral loopback ports with its own data directory.
 * `settings` are dotted config keys, e.g. { smarthost: 'smtp://127.0.0.1:2525?tls=none' }.
 * As an operator would before connecting an application, the sender domains the tests use
 * (example.com, example.test) are claimed and verified for the default organisation.
 */
export async function startTestGateway(settings: Record<string, unknown> = {}): Promise<TestGateway> {
  const dir = await tempDir('relaygate-gw-');
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir.path,
      ...(testDatabaseUrl(dir.path) ? { databaseUrl: testDatabaseUrl(dir.path) } : {}),
      hostname: 'gateway.test',
      'smtp.port': 0,
      'smtp.smtpsPort': 0,
      'smtp.relayPort': 0,
      'http.port': 0,
      logLevel: 'info',
      'queue.retryInitial': '200ms',
      'queue.retryMax': '1s',
      // Without a smarthost, mail would go to the recipient's MX through the system resolver:
      // tests about direct delivery turn it on with their own resolver (test/mx-delivery.test.ts).
      'delivery.direct': false,
      // Tests say where mail goes; the sandbox tests turn it on (test/sandbox.test.ts).
      sandbox: false,
      // The sessions in this process: the tests look at its logs and its clock.
      'smtp.workers': 1,
      ...settings,
    },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  await verifyTestDomains(config);
  const gateway = await startGateway(config, { log: createLogger(config.logLevel, sink) });
  const withStoreDb = async <T>(work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> => {
    const store = await openStore(config);
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };
  const withServices = <T>(work: (services: AdminServices) => Promise<T>): Promise<T> =>
    withStoreDb((store) => work(adminServices({ db: store.db, clock: systemClock, hashKey: store.hashKey, syncCommitted: store.syncCommitted }, config)));
  let stopped = false;
  return {
    gateway,
    config,
    dataDir: dir.path,
    logs,
    async createCredential(description = 'test application', options = {}) {
      const { credential, secret } = await withServices((s) => s.credentials.create({ kind: 'submission', description, ...options }, HARNESS_ACTOR));
      return { id: credential.id, username: credential.username, secret: secret ?? '' };
    },
    async revokeCredential(id) {
      await withServices((s) => s.credentials.revoke(id, HARNESS_ACTOR));
    },
    services: withServices,
    db: (work) => withStoreDb((store) => work(store.db)),
    async createApiToken(description = 'test suite', scope: TokenScope = 'admin') {
      return withServices(async (services) => (await services.tokens.create(description, { name: 'test', ip: null }, scope)).secret);
    },
    async api(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`http://127.0.0.1:${gateway.ports.http}${path}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: response.status, headers: response.headers, body, text };
    },
    async queue() {
      const store = await openStore(config);
      return Object.assign(sqlQueueStore(store.db, store.syncCommitted), { close: () => store.close() });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      await dir.cleanup();
    },
  };
}
