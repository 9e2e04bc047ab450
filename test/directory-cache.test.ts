/**
 * The directory cache (issue 21, point 3): a session's credential, sender-domain and route
 * reads come from memory, and a change made anywhere (this process, the CLI, another
 * instance) takes effect within a second. On real stores: a second connection to the same
 * SQLite file or PostgreSQL schema plays the other process; on PostgreSQL the NOTIFY alone
 * (the poll set to an hour) must clear the cache. Then two gateway processes on one
 * PostgreSQL schema: a revocation through the CLI is refused by both at the next AUTH, and a
 * route change reaches both.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { directoryCache } from '../src/app/directory-cache.js';
import { type OpenStore, openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { DEFAULT_ORGANISATION_ID } from '../src/model/organisation.js';
import { sqlCredentialStore } from '../src/store/credentials/index.js';
import { DIRECTORY_CHANNEL, directoryVersion } from '../src/store/directory-version.js';
import { sqlRouteStore } from '../src/store/routes/index.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { scrape } from './support/metrics-scrape.js';
import { needsPeer } from './support/peers.js';
import { openDialog } from './support/smtp-dialog.js';
import { storeEngines } from './support/store-engines.js';
import { type SubmitCredential, send } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 180_000 };
const HOUR = 3_600_000;

/** A second store on the same file or schema: what another process (the CLI, another instance) writes through. */
async function secondHandle(env: Record<string, string>): Promise<OpenStore> {
  return openStore(loadConfig({ env }));
}

async function insertCredential(store: OpenStore, id: string, username: string): Promise<void> {
  await store.db
    .insertInto('credentials')
    .values({
      id,
      kind: 'submission',
      description: 'cache test',
      username,
      secret_hash: 'x',
      created_at: 0,
      last_used_at: null,
      last_used_ip: null,
      revoked_at: null,
    })
    .execute();
}

async function elapsedUntil(what: string, done: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await waitFor(async () => ((await done()) ? true : undefined), { what, timeoutMs: 10_000, intervalMs: 10 });
  return performance.now() - started;
}

for (const engine of storeEngines()) {
  describe(`the directory cache on ${engine.name}`, engine.options, () => {
    test('reads are answered from memory until another process changes the directory; last-use writes are no change', SLOW_OK, async (t) => {
      const dir = await tempDir('relaygate-directory-cache-');
      const env = { RELAYGATE_DATA_DIR: dir.path, ...(engine.name === 'PostgreSQL' ? { RELAYGATE_DATABASE_URL: schemaUrl(dir.path) } : {}) };
      const store = await secondHandle(env);
      const other = await secondHandle(env);
      // On PostgreSQL only the NOTIFY can tell within the test; on SQLite the poll does.
      const pollMs = engine.name === 'PostgreSQL' ? HOUR : 250;
      const listen = store.listen;
      const cache = await directoryCache({
        version: () => directoryVersion(store.db),
        ...(listen ? { listen: (onChange: () => void) => listen(DIRECTORY_CHANNEL, onChange) } : {}),
        pollMs,
        onPollError: (err) => assert.fail(String(err)),
      });
      try {
        const routes = cache.over(sqlRouteStore(store.db), { defaultAction: 'cached' });
        const credentials = cache.over(sqlCredentialStore(store.db), { allowedNetworksOf: 'checked', byUsername: 'cached' });
        assert.equal(await routes.defaultAction(DEFAULT_ORGANISATION_ID), 'relay');
        assert.equal(await routes.defaultAction(DEFAULT_ORGANISATION_ID), 'relay');
        assert.deepEqual(cache.stats(), { hits: 1, misses: 1, clears: 0, entries: 1 });

        await sqlRouteStore(other.db).change((tx) => tx.setDefaultAction(DEFAULT_ORGANISATION_ID, 'reject'));
        const seenAfter = await elapsedUntil(
          'the cache to see the other process change the default action',
          async () => (await routes.defaultAction(DEFAULT_ORGANISATION_ID)) === 'reject',
        );
        t.diagnostic(
          `a default-action change by another connection reached the cache after ${seenAfter.toFixed(0)} ms (${engine.name === 'PostgreSQL' ? 'NOTIFY' : 'poll'})`,
        );
        assert.ok(seenAfter < 1000, `seen after ${seenAfter} ms`);

        await insertCredential(other, 'cred_cache1', 'cache-user');
        assert.equal(await credentials.allowedNetworksOf('cache-user'), null, 'a checked read sees a credential created a moment ago');
        assert.equal((await credentials.byUsername('cache-user'))?.revokedAt, null);
        const clears = cache.stats().clears;
        // The last-use columns are written for every session: the cache must outlive them.
        await sqlCredentialStore(other.db).recordUsage([['cred_cache1', { at: 5, ip: '192.0.2.1' }]]);
        await new Promise((resolve) => setTimeout(resolve, 2 * Math.min(pollMs, 500)));
        assert.equal(await credentials.allowedNetworksOf('cache-user'), null);
        assert.equal(cache.stats().clears, clears, 'a last-use write cleared the cache');

        // A revocation is a change: the next checked read (AUTH asks the allowed networks first) clears at once.
        await other.db.updateTable('credentials').set({ revoked_at: 10 }).where('id', '=', 'cred_cache1').execute();
        await credentials.allowedNetworksOf('cache-user');
        assert.equal((await credentials.byUsername('cache-user'))?.revokedAt, 10, 'the credential read after the check is the revoked one');
      } finally {
        await cache.stop();
        await other.close();
        await store.close();
        await dir.cleanup();
      }
    });

    test('a failed read is not kept: the next one asks the store again', async () => {
      let calls = 0;
      const cache = await directoryCache({ version: async () => '1', pollMs: HOUR, onPollError: () => undefined });
      const flaky = cache.over(
        {
          read: async (): Promise<string> => {
            calls += 1;
            if (calls === 1) throw new Error('store unavailable');
            return 'value';
          },
        },
        { read: 'cached' },
      );
      await assert.rejects(flaky.read(), /store unavailable/);
      assert.equal(await flaky.read(), 'value');
      assert.equal(await flaky.read(), 'value');
      assert.equal(calls, 2);
      await cache.stop();
    });
  });
}

/** Whether AUTH with `credential` succeeds on this submission port. */
async function authAccepted(port: number, credential: SubmitCredential): Promise<boolean> {
  const { dialog } = await openDialog(port);
  try {
    await dialog.ehlo('app.example.com');
    await dialog.startTls();
    await dialog.ehlo('app.example.com');
    return (await dialog.authPlain(credential.username, credential.secret)).startsWith('235 ');
  } finally {
    dialog.close();
  }
}

test('two instances on one PostgreSQL schema: a revocation and a route change reach both within a second', {
  ...SLOW_OK,
  ...needsPeer(postgresUnavailable()),
}, async (t) => {
  const shared = {
    RELAYGATE_DATABASE_URL: schemaUrl(`directory-cache-${randomBytes(6).toString('hex')}`),
    RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_SMARTHOST: 'smtp://127.0.0.1:9?tls=none',
    RELAYGATE_LOG_LEVEL: 'warn',
  };
  const dirs: TempDir[] = [];
  const gateways: GatewayProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) dirs.push(await tempDir(`relaygate-directory-cache-${i}-`));
    const envs = dirs.map((dir) => gatewayEnv(dir.path, shared));
    const [firstEnv] = envs as [NodeJS.ProcessEnv];
    await verifyTestDomainsIn(firstEnv);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'cache', '--json'], firstEnv);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as SubmitCredential & { id: string };
    gateways.push(...(await Promise.all(envs.map((env) => spawnGateway(env)))));
    const message = { from: 'app@example.com', to: ['someone@example.net'], raw: 'From: app@example.com\r\nSubject: warm\r\n\r\nwarm\r\n' };
    // Warm both caches, twice each: the second session's reads come from memory.
    for (const gateway of gateways) for (let i = 0; i < 2; i++) assert.match(await send(gateway.ports.smtp, credential, message), /^250 /);
    for (const gateway of gateways) {
      const metrics = await scrape(gateway.ports.http);
      assert.ok(metrics.value('relaygate_directory_cache_reads_total', { result: 'hit' }) > 0, 'the second session read from the cache');
    }

    // A route change is told by NOTIFY: each cache is cleared, and MAIL FROM is refused on both.
    const clearsBefore = await Promise.all(gateways.map(async (g) => (await scrape(g.ports.http)).value('relaygate_directory_cache_clears_total')));
    const rejecting = await runCli(['route', 'default', 'reject', '--yes'], firstEnv);
    assert.equal(rejecting.code, 0, rejecting.stderr);
    for (const [i, gateway] of gateways.entries()) {
      const ms = await elapsedUntil(
        `instance ${i + 1} to clear its cache`,
        async () => (await scrape(gateway.ports.http)).value('relaygate_directory_cache_clears_total') > (clearsBefore[i] as number),
      );
      t.diagnostic(`instance ${i + 1} had cleared its cache ${ms.toFixed(0)} ms after the CLI's exit`);
      assert.ok(ms < 1000, `instance ${i + 1} took ${ms} ms`);
      await assert.rejects(send(gateway.ports.smtp, credential, message), /550/, `instance ${i + 1} applies the new default route`);
    }
    assert.equal((await runCli(['route', 'default', 'relay', '--yes'], firstEnv)).code, 0);

    // A revocation is checked at AUTH against the directory's version: the very next AUTH fails, on both.
    const revoked = await runCli(['credential', 'revoke', credential.id], firstEnv);
    assert.equal(revoked.code, 0, revoked.stderr);
    for (const [i, gateway] of gateways.entries())
      assert.equal(await authAccepted(gateway.ports.smtp, credential), false, `instance ${i + 1} accepted a revoked credential`);
  } finally {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await Promise.all(gateways.map((g) => g.exited));
    for (const dir of dirs) await dir.cleanup();
  }
});
