/**
 * Another process holds the embedded store's write lock (a backup, the CLI, `BEGIN
 * EXCLUSIVE` for a long while). The gateway's event loop must not wait for it: health checks
 * and greetings go on, /readyz says why no message can be stored, a message that needs the
 * store is answered 451 4.3.0 after a bounded wait, and all is well again once the lock is gone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SQLITE_BUSY_TIMEOUT_MS } from '../src/store/sqlite/open.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { openDialog } from './support/smtp-dialog.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { send, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { onlyOn } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const HOLDER = fileURLToPath(new URL('./support/hold-sqlite-lock.ts', import.meta.url));
const ONLY_SQLITE = onlyOn('sqlite', 'the lock of an SQLite file; PostgreSQL has its own lock waits (postgres-faults.test.ts)');
// Far below the freeze the synchronous driver caused (the whole busy timeout), far above
// what a busy test machine needs to answer a loopback request.
const PROMPT_MS = 2000;

function holdLock(database: string): Promise<{ holder: ChildProcess; release(): Promise<void> }> {
  const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, database], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => out.includes(word) && resolve();
      holder.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        check();
      });
      holder.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before saying ${word}`)));
      check();
    });
  return said('locked').then(() => ({
    holder,
    async release() {
      const released = said('released');
      holder.stdin?.end();
      await released;
    },
  }));
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const readyz = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
};

const tagged = (tag: string) => ({
  from: 'app@example.com',
  to: [`${tag}@example.net`],
  raw: `From: app@example.com\r\nTo: ${tag}@example.net\r\nSubject: ${tag}\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`,
});

test('a write lock held by another process: the event loop goes on, mail gets 451 4.3.0 after a bounded wait, and all resumes', ONLY_SQLITE, async (t) => {
  const dir = await tempDir('relaygate-lock-');
  const sink = await startSmtpSink({ tls: 'none' });
  const env = gatewayEnv(dir.path, { RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`, RELAYGATE_LOG_LEVEL: 'warn' });
  let gateway: GatewayProcess | undefined;
  let lock: Awaited<ReturnType<typeof holdLock>> | undefined;
  try {
    await verifyTestDomainsIn(env);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'lock', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as { username: string; secret: string };
    gateway = await spawnGateway(env);
    const { smtp, http } = gateway.ports;
    await submit(smtp, credential, tagged('before'));
    await sink.waitForMessages(1);

    lock = await holdLock(join(dir.path, 'relaygate.db'));
    // A message that needs the store, and the readiness probe's own write, wait on the lock
    // while the rest is measured.
    const refused = timed(() =>
      send(smtp, credential, tagged('locked')).then(
        (reply) => `accepted: ${reply}`,
        (err: { response?: string }) => String(err.response),
      ),
    );
    const probe = timed(() => readyz(http));

    let slowestHealth = 0;
    let slowestGreeting = 0;
    for (let i = 0; i < 10; i++) {
      const health = await timed(() => fetch(`http://127.0.0.1:${http}/healthz`).then((r) => r.status));
      assert.equal(health.value, 200);
      slowestHealth = Math.max(slowestHealth, health.ms);
      const greeting = await timed(async () => {
        const { dialog, greeting } = await openDialog(smtp);
        dialog.close();
        return greeting;
      });
      assert.match(greeting.value, /^220 /);
      slowestGreeting = Math.max(slowestGreeting, greeting.ms);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    t.diagnostic(`while locked: slowest /healthz ${slowestHealth.toFixed(0)} ms, slowest greeting ${slowestGreeting.toFixed(0)} ms`);
    assert.ok(slowestHealth < PROMPT_MS, `/healthz took ${slowestHealth.toFixed(0)} ms while the store was locked`);
    assert.ok(slowestGreeting < PROMPT_MS, `a greeting took ${slowestGreeting.toFixed(0)} ms while the store was locked`);

    const notReady = await probe;
    assert.equal(notReady.value.status, 503);
    assert.match(notReady.value.body.checks.store ?? '', /lock|busy/i, JSON.stringify(notReady.value.body));

    const refusal = await refused;
    t.diagnostic(`refused after ${refusal.ms.toFixed(0)} ms: ${refusal.value}`);
    assert.equal(refusal.value, '451 4.3.0 Queue storage is busy, try again later');
    // Bounded: the busy timeout and some statements of the session, not the length of the lock.
    assert.ok(refusal.ms < 6 * SQLITE_BUSY_TIMEOUT_MS, `the refusal took ${refusal.ms.toFixed(0)} ms`);

    await lock.release();
    lock = undefined;
    await waitFor(async () => (await readyz(http)).status === 200, { what: '/readyz 200 once the lock is gone', timeoutMs: 30_000 });
    await submit(smtp, credential, tagged('after'));
    await sink.waitForMessages(2);
    const tags = sink.messages.map((m) => /X-Tag: (\w+)/.exec(m.raw.toString())?.[1]);
    assert.deepEqual(tags, ['before', 'after'], 'the message answered 451 was not delivered');
  } finally {
    await lock?.release().catch(() => undefined);
    lock?.holder.kill('SIGKILL');
    gateway?.child.kill('SIGKILL');
    await sink.stop();
    await dir.cleanup();
  }
});
