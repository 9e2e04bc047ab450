/**
 * smtp.workers (issue 21): `relaygate start` with two SMTP acceptor processes sharing the
 * listeners (src/app/smtp-workers.ts). Mail submitted over many connections reaches both
 * acceptors and is delivered once each; kill -9 of an acceptor under load loses no message
 * it answered 250, and the primary starts it again; SIGTERM stops everything cleanly; a
 * revoked credential is refused by every acceptor; the acceptors end with the primary. Runs
 * on the engine under test (RELAYGATE_TEST_ENGINE=postgres: the same on PostgreSQL).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { openDialog } from './support/smtp-dialog.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { type SubmitCredential, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { sleep, waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 240_000 };

interface Started {
  gateway: GatewayProcess;
  env: NodeJS.ProcessEnv;
  credential: SubmitCredential & { id: string };
  sink: SmtpSink;
  dir: TempDir;
}

async function startWithWorkers(): Promise<Started> {
  const sink = await startSmtpSink();
  const dir = await tempDir('relaygate-workers-');
  const env = gatewayEnv(dir.path, {
    RELAYGATE_SMTP_WORKERS: '2',
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'info',
    RELAYGATE_SHUTDOWN_TIMEOUT: '20s',
  });
  await verifyTestDomainsIn(env);
  const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'workers', '--json'], env);
  assert.equal(created.code, 0, created.stderr);
  const credential = JSON.parse(created.stdout) as SubmitCredential & { id: string };
  const gateway = await spawnGateway(env);
  return { gateway, env, credential, sink, dir };
}

async function stopAll(s: Started | undefined): Promise<void> {
  if (!s) return;
  for (const pid of acceptorPids(s.gateway)) killQuietly(pid);
  s.gateway.child.kill('SIGKILL');
  await s.gateway.exited;
  await s.sink.stop();
  await s.dir.cleanup();
}

/** The acceptor processes of a gateway child: its children that run smtp-acceptor (tsx's esbuild is one too). */
function acceptorPids(gateway: GatewayProcess): number[] {
  const pid = gateway.child.pid as number;
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  return children
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('smtp-acceptor');
      } catch {
        return false;
      }
    });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function tagged(tag: string): string {
  return `From: app@example.com\r\nTo: customer@example.net\r\nSubject: ${tag}\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`;
}

function deliveredTags(sink: SmtpSink): Set<string> {
  return new Set(sink.messages.map((m) => /^X-Tag: (\S+)/m.exec(m.raw.toString())?.[1] ?? ''));
}

/** The acceptor (smtpWorker, 1 or 2) that logged each accepted queue id. */
function acceptorsOf(output: string): Map<string, number> {
  const byQueueId = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { outcome?: string; queueId?: string; smtpWorker?: number };
    if (entry.outcome === 'accepted' && entry.queueId && entry.smtpWorker) byQueueId.set(entry.queueId, entry.smtpWorker);
  }
  return byQueueId;
}

/**
 * `clients` submitters, each sending one message per connection until `until()` says stop;
 * a connection cut off (its acceptor killed) is retried with a new tag. The tags answered 250.
 */
async function submitUntil(
  port: number,
  credential: SubmitCredential,
  clients: number,
  until: () => boolean,
  prefix: string,
): Promise<{ accepted: Map<string, string>; failed: number }> {
  const accepted = new Map<string, string>();
  let failed = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!until()) {
        const tag = `${prefix}${n++}`;
        try {
          const { queueId } = await submit(port, credential, { from: 'app@example.com', to: ['customer@example.net'], raw: tagged(tag) });
          accepted.set(tag, queueId);
        } catch {
          failed += 1;
          await sleep(50);
        }
      }
    }),
  );
  return { accepted, failed };
}

test(
  'two SMTP workers: mail over many connections reaches both and is delivered; kill -9 of one under load loses no accepted message; SIGTERM stops all',
  SLOW_OK,
  async (t) => {
    let started: Started | undefined;
    try {
      started = await startWithWorkers();
      const { gateway, credential, sink } = started;
      const first = acceptorPids(gateway);
      assert.equal(first.length, 2, 'two acceptor processes');
      const http = `http://127.0.0.1:${gateway.ports.http}`;
      assert.equal((await fetch(`${http}/readyz`)).status, 200);

      // Many connections, one message each: cluster hands them out in turn.
      let count = 0;
      const warmup = await submitUntil(gateway.ports.smtp, credential, 6, () => count++ >= 24, 'a');
      assert.equal(warmup.failed, 0);
      await waitFor(() => [...warmup.accepted.keys()].every((tag) => deliveredTags(sink).has(tag)), {
        what: 'the first messages at the sink',
        timeoutMs: 60_000,
      });
      const served = new Set([...warmup.accepted.values()].map((id) => acceptorsOf(gateway.output()).get(id)));
      assert.deepEqual([...served].sort(), [1, 2], 'connections reached both acceptors');
      // The acceptors serve no HTTP: the primary's /metrics carries what they counted.
      await waitFor(
        async () => {
          const text = await (await fetch(`${http}/metrics`)).text();
          return Number(/^relaygate_messages_accepted_total\{direction="outbound"\} (\d+)/m.exec(text)?.[1] ?? 0) >= warmup.accepted.size;
        },
        { what: "the acceptors' counts in the primary's /metrics", timeoutMs: 10_000 },
      );

      // Under load, one acceptor is killed; the clients it cut off send again.
      let stop = false;
      const load = submitUntil(gateway.ports.smtp, credential, 8, () => stop, 'b');
      await waitFor(() => acceptorsOf(gateway.output()).size >= warmup.accepted.size + 20, { what: 'load on both acceptors', timeoutMs: 60_000 });
      const victim = first[0] as number;
      process.kill(victim, 'SIGKILL');
      t.diagnostic(`killed acceptor ${victim} under load`);
      await waitFor(() => acceptorPids(gateway).some((pid) => !first.includes(pid)), { what: 'the primary to start another acceptor', timeoutMs: 60_000 });
      await waitFor(async () => (await fetch(`${http}/readyz`)).status === 200, { what: 'readiness with both acceptors up', timeoutMs: 60_000 });
      const before = acceptorsOf(gateway.output()).size;
      await waitFor(() => acceptorsOf(gateway.output()).size >= before + 10, { what: 'mail accepted after the restart', timeoutMs: 60_000 });
      stop = true;
      const { accepted, failed } = await load;
      t.diagnostic(`${accepted.size} accepted under load, ${failed} transfers cut off or refused`);
      await waitFor(() => [...accepted.keys()].every((tag) => deliveredTags(sink).has(tag)), {
        what: 'every message answered 250 at the sink',
        timeoutMs: 90_000,
      });

      const acceptors = acceptorPids(gateway);
      gateway.child.kill('SIGTERM');
      assert.equal(await gateway.exited, 0);
      assert.ok(
        acceptors.every((pid) => !alive(pid)),
        'the acceptors ended with the primary',
      );
    } finally {
      await stopAll(started);
    }
  },
);

test('two SMTP workers: a revoked credential is refused by both; the acceptors end when the primary is killed', SLOW_OK, async () => {
  let started: Started | undefined;
  try {
    started = await startWithWorkers();
    const { gateway, credential, env } = started;
    const revoked = await runCli(['credential', 'revoke', credential.id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    // Four connections: cluster's round robin gives each acceptor two.
    for (let i = 0; i < 4; i++) {
      const { dialog } = await openDialog(gateway.ports.smtp);
      await dialog.ehlo('app.example.com');
      await dialog.startTls();
      await dialog.ehlo('app.example.com');
      assert.match(await dialog.authPlain(credential.username, credential.secret), /^535 /);
      await dialog.send('QUIT');
    }
    const acceptors = acceptorPids(gateway);
    assert.equal(acceptors.length, 2);
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    await waitFor(() => acceptors.every((pid) => !alive(pid)), { what: 'the acceptors to end after the primary', timeoutMs: 30_000 });
  } finally {
    await stopAll(started);
  }
});
