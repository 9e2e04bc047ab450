import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestGateway } from './support/gateway.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { skipWithoutPeer } from './support/peers.js';
import { openDialog } from './support/smtp-dialog.js';
import { closedSink } from './support/smtp-sink.js';
import { integrityOf } from './support/sqlite-integrity.js';
import { send, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { onlyOn } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);
const INSUFFICIENT_STORAGE = '452 4.3.1 Insufficient system storage, try again later';

interface Credential {
  username: string;
  secret: string;
}

// On PostgreSQL bodies and commits go to the database server, not to files of this process:
// neither its file-size limit nor the data directory's filesystem reaches them.
const FILES_OF_THE_STORE = onlyOn('sqlite', 'only the embedded engine keeps bodies and commits in files of the data directory');

/** EHLO, STARTTLS, AUTH (when given), then MAIL FROM: its whole reply. */
async function mailFromReply(port: number, credential: Credential | null, from = 'app@example.com'): Promise<string> {
  const { dialog } = await openDialog(port);
  try {
    await dialog.ehlo();
    await dialog.startTls();
    await dialog.ehlo();
    if (credential) assert.match(await dialog.authPlain(credential.username, credential.secret), /^235 /);
    return await dialog.send(`MAIL FROM:<${from}>`);
  } finally {
    dialog.close();
  }
}

async function readyz(
  port: number,
): Promise<{ status: number; type: string | null; body: { status?: string; detail?: string; checks: Record<string, string> } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as never };
}

const tagged = (tag: string, body = `body of ${tag}\r\n`) => ({
  from: 'app@example.com',
  to: [`${tag}@example.net`],
  raw: `From: app@example.com\r\nTo: ${tag}@example.net\r\nSubject: ${tag}\r\nX-Tag: ${tag}\r\n\r\n${body}`,
});

/** A message of about `bytes`, in 78-octet CRLF lines (the data guard refuses anything else). */
function bigMessage(tag: string, bytes: number) {
  const line = `${'x'.repeat(76)}\r\n`;
  return tagged(tag, line.repeat(Math.ceil(bytes / line.length)));
}

/** The refusal nodemailer saw, as one reply line. */
async function refusal(port: number, credential: Credential, message: ReturnType<typeof tagged>): Promise<string> {
  const err = await send(port, credential, message).then(
    (reply) => assert.fail(`accepted: ${reply}`),
    (e: unknown) => e as { response?: string },
  );
  return String(err.response);
}

test('health.minFreeDisk above the free space: MAIL FROM gets 452 4.3.1 and /readyz names the disk; a normal threshold takes mail', async () => {
  // 1 PB: more than any disk this runs on has free, so the real statfs reading is below it.
  const starved = await startTestGateway({ 'health.minFreeDisk': '1PB', 'inbound.allowUnauthenticated': true });
  try {
    const credential = await starved.createCredential();
    const ready = await readyz(starved.gateway.ports.http);
    assert.equal(ready.status, 503);
    assert.equal(ready.type, 'application/problem+json; charset=utf-8');
    assert.equal(ready.body.checks.store, 'ok');
    assert.equal(ready.body.checks.smtp, 'ok');
    assert.match(ready.body.checks.disk as string, /^only [\d.]+ [kMGT]?B free, below health\.minFreeDisk 1 PB$/);
    assert.equal(ready.body.detail, `disk: ${ready.body.checks.disk}`);
    assert.equal((await fetch(`http://127.0.0.1:${starved.gateway.ports.http}/healthz`)).status, 200, 'the process is up all the same');
    // Submission and inbound (here an unauthenticated inbound session) alike.
    assert.equal(await mailFromReply(starved.gateway.ports.smtp, credential), INSUFFICIENT_STORAGE);
    assert.equal(await mailFromReply(starved.gateway.ports.smtp, null, 'someone@elsewhere.example'), INSUFFICIENT_STORAGE);
    assert.ok(
      starved.logs.some((l) => l.includes('"stage":"mail_from"') && l.includes('below health.minFreeDisk')),
      'the reason is logged',
    );
  } finally {
    await starved.stop();
  }

  const normal = await startTestGateway({ 'health.minFreeDisk': '1MB' });
  try {
    const credential = await normal.createCredential();
    const ready = await readyz(normal.gateway.ports.http);
    assert.equal(ready.status, 200);
    // On PostgreSQL the worker's LISTEN connection is reported too.
    const wakeups = normal.config.databaseUrl ? { queueWakeups: 'ok' } : {};
    assert.deepEqual(ready.body, { status: 'ready', checks: { store: 'ok', smtp: 'ok', disk: 'ok', ...wakeups } });
    assert.match(await mailFromReply(normal.gateway.ports.smtp, credential), /^250 /);
    const { response } = await submit(normal.gateway.ports.smtp, credential, tagged('normal'));
    assert.match(response, /^250 2\.0\.0 Ok: queued as /);
  } finally {
    await normal.stop();
  }
});

async function setUpChild(dataDir: string, sinkPort: number, extra: Record<string, string>) {
  const env = gatewayEnv(dataDir, {
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sinkPort}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'warn',
    RELAYGATE_QUEUE_RETRY_INITIAL: '200ms',
    RELAYGATE_QUEUE_RETRY_MAX: '500ms',
    // An attempt whose outcome could not be recorded on the full disk is retried once its lease
    // runs out (10 minutes by default): short here, so recovery is seen within the test.
    RELAYGATE_QUEUE_LEASE: '3s',
    ...extra,
  });
  await verifyTestDomainsIn(env);
  const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'disk-full', '--json'], env);
  assert.equal(created.code, 0, created.stderr);
  return { env, credential: JSON.parse(created.stdout) as Credential };
}

async function stopChild(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill('SIGTERM');
  assert.equal(await gateway.exited, 0, gateway.output());
}

// The file-size limit needs no privileges, so this runs everywhere: a write past RLIMIT_FSIZE
// fails with EFBIG exactly as a full disk fails with ENOSPC, at the same point of DATA.
test('a message larger than the file-size limit gets 452 4.3.1, leaves nothing behind, and is taken once the limit is gone', FILES_OF_THE_STORE, async () => {
  const dir = await tempDir('relaygate-fsize-');
  const peer = await closedSink();
  let gateway: GatewayProcess | undefined;
  try {
    const { env, credential } = await setUpChild(dir.path, peer.sink.port, {});
    // 8 MiB: room for the store (its WAL checkpoints at about 4 MiB) and small messages, not for a 12 MiB one.
    gateway = await spawnGateway(env, { fileSizeLimitBytes: 8 * 1024 * 1024 });
    const limited = gateway;
    const earlier = ['early-1', 'early-2', 'early-3'];
    for (const tag of earlier) await submit(limited.ports.smtp, credential, tagged(tag));

    assert.equal(await refusal(limited.ports.smtp, credential, bigMessage('too-big', 12 * 1024 * 1024)), INSUFFICIENT_STORAGE);
    assert.equal((await readdir(join(dir.path, 'spool'))).length, earlier.length, 'the partial body was removed; the queued ones stay');
    // Still running and still taking what fits.
    assert.equal((await fetch(`http://127.0.0.1:${limited.ports.http}/healthz`)).status, 200);
    assert.equal((await readyz(limited.ports.http)).status, 200);
    await submit(limited.ports.smtp, credential, tagged('after-refusal'));
    await waitFor(() => /"code":"EFBIG"/.test(limited.output()), { what: 'the cause (EFBIG) in the log' });
    await stopChild(limited);

    // Room again: the same message is taken, and everything reaches the sink once it answers.
    gateway = await spawnGateway(env);
    await submit(gateway.ports.smtp, credential, bigMessage('too-big', 12 * 1024 * 1024));
    peer.open();
    const expected = [...earlier, 'after-refusal', 'too-big'];
    await waitFor(() => expected.every((tag) => peer.tags().includes(tag)), { what: 'every accepted message at the sink', timeoutMs: 60_000 });
    const big = peer.sink.messages.find((m) => m.raw.includes('X-Tag: too-big'));
    assert.ok(big && big.raw.length > 12 * 1024 * 1024, 'the large message arrived whole');
    await stopChild(gateway);
    gateway = undefined;
    assert.equal(integrityOf(dir.path), 'ok');
  } finally {
    gateway?.child.kill('SIGKILL');
    await peer.sink.stop();
    await dir.cleanup();
  }
});

// The store check commits for real (store/heartbeat.ts), so it fails the way acceptance would.
// Made real without privileges: under a file-size limit the WAL, which grows by at least one
// frame (a 1 KiB page, src/store/sqlite/sqlite-thread.ts) per commit until its checkpoint at
// about 4 MiB, soon can grow no further.
test('/readyz names the store once it can no longer commit, and the gateway stays up', FILES_OF_THE_STORE, async (t) => {
  const dir = await tempDir('relaygate-store-');
  const peer = await closedSink();
  let gateway: GatewayProcess | undefined;
  try {
    const { env } = await setUpChild(dir.path, peer.sink.port, {});
    gateway = await spawnGateway(env, { fileSizeLimitBytes: 128 * 1024 });
    const gw = gateway;
    assert.equal((await readyz(gw.ports.http)).status, 200, 'ready while the WAL has room');
    let last: Awaited<ReturnType<typeof readyz>> | undefined;
    let probes = 0;
    for (; probes < 200 && last?.status !== 503; probes++) last = await readyz(gw.ports.http);
    t.diagnostic(`not ready after ${probes} probes: ${last?.body.detail}`);
    assert.equal(last?.status, 503, 'not ready within 200 heartbeats');
    assert.match(last?.body.checks.store ?? '', /^not writable: SQLITE_(FULL|IOERR\w*) /);
    assert.deepEqual({ smtp: last?.body.checks.smtp, disk: last?.body.checks.disk }, { smtp: 'ok', disk: 'ok' });
    assert.match(last?.body.detail ?? '', /^store: not writable: /);
    assert.equal((await fetch(`http://127.0.0.1:${gw.ports.http}/healthz`)).status, 200);
  } finally {
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    await peer.sink.stop();
    await dir.cleanup();
  }
});

/** Mounts a tmpfs of `bytes`; undefined (with the reason) where this process may not mount. */
async function mountTmpfs(path: string, bytes: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  // A CI machine runs as root, so a missing root is a missing peer here (test/support/peers.ts).
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  await mkdir(path, { recursive: true });
  return run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path]).then(
    () => undefined,
    (err: { stderr?: string; message: string }) => `mount -t tmpfs failed: ${(err.stderr || err.message).trim()}`,
  );
}

/** Appends zeros until the filesystem refuses (ENOSPC) or `leaveBytes` are left. */
async function fill(path: string, dir: string, leaveBytes = 0): Promise<void> {
  const file = await open(path, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) {
      const s = await statfs(dir);
      const room = s.bavail * s.bsize - leaveBytes;
      if (room <= 0) return;
      await file.write(chunk, 0, Math.min(chunk.length, room));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await file.close();
  }
}

// A real full filesystem, where the machine lets us mount one (root, CAP_SYS_ADMIN): first too
// little room for one message (ENOSPC in DATA), then none at all (below the threshold at MAIL
// FROM, and the store itself can no longer commit), then room again.
test('disk full on a small tmpfs: temporary refusals, nothing corrupted, mail taken again once space returns', FILES_OF_THE_STORE, async (t) => {
  const dir = await tempDir('relaygate-diskfull-');
  const mountPoint = join(dir.path, 'mnt');
  const unavailable = await mountTmpfs(mountPoint, 24 * 1024 * 1024);
  if (unavailable) {
    await dir.cleanup();
    skipWithoutPeer(t, `${unavailable}; the file-size limit test above covers the refusal in DATA`);
    return;
  }
  const dataDir = join(mountPoint, 'data');
  const filler = join(mountPoint, 'filler');
  const peer = await closedSink();
  let gateway: GatewayProcess | undefined;
  try {
    const { env, credential } = await setUpChild(dataDir, peer.sink.port, { RELAYGATE_HEALTH_MIN_FREE_DISK: '2MB' });
    gateway = await spawnGateway(env);
    const gw = gateway;
    const earlier = ['early-1', 'early-2', 'early-3'];
    for (const tag of earlier) await submit(gw.ports.smtp, credential, tagged(tag));

    // 3 MB left: above the threshold, so MAIL FROM passes, but a 6 MB message cannot be written.
    await fill(filler, mountPoint, 3_000_000);
    assert.equal(await refusal(gw.ports.smtp, credential, bigMessage('too-big', 6_000_000)), INSUFFICIENT_STORAGE);
    // The log line reaches the pipe on its own time: wait for it rather than race it.
    await waitFor(() => /"code":"ENOSPC"/.test(gw.output()), { what: 'the cause (ENOSPC) in the log' });
    assert.equal((await readdir(join(dataDir, 'spool'))).length, earlier.length, 'the partial body was removed; the queued ones stay');

    // Nothing left: not ready (disk below the threshold, and the store's heartbeat cannot commit), 452 at MAIL FROM.
    await fill(filler, mountPoint);
    const starved = await waitFor(
      async () => {
        const r = await readyz(gw.ports.http);
        // The store's heartbeat may still commit into room the WAL already has: wait until it cannot.
        return r.status === 503 && r.body.checks.disk !== 'ok' && r.body.checks.store !== 'ok' ? r : undefined;
      },
      { what: '/readyz to report the full disk and the store unable to commit' },
    );
    assert.match(starved.body.checks.disk as string, /^only [\d.]+ [kM]?B free, below health\.minFreeDisk 2 MB$/);
    assert.match(starved.body.checks.store as string, /^not writable: SQLITE_FULL /);
    assert.equal(starved.body.checks.smtp, 'ok');
    assert.equal(await mailFromReply(gw.ports.smtp, credential), INSUFFICIENT_STORAGE);
    // The sink answers now, but a worker that cannot record its claim does not deliver: the mail waits.
    peer.open();
    await waitFor(async () => (await readyz(gw.ports.http)).status === 503, { what: 'another readiness check on the full disk' });
    assert.equal((await fetch(`http://127.0.0.1:${gw.ports.http}/healthz`)).status, 200, 'still running');

    // Space returns.
    await rm(filler);
    await waitFor(async () => (await readyz(gw.ports.http)).status === 200, { what: '/readyz to recover' });
    await submit(gw.ports.smtp, credential, tagged('after-recovery'));
    const expected = [...earlier, 'after-recovery'];
    await waitFor(() => expected.every((tag) => peer.tags().includes(tag)), { what: 'every accepted message at the sink', timeoutMs: 30_000 });
    // Deliveries whose success could not be recorded on the full disk may be repeated (at least once), never lost.
    await waitFor(async () => (await readdir(join(dataDir, 'spool'))).length === 0, { what: 'the queue to empty', timeoutMs: 30_000 });
    t.diagnostic(`delivered ${peer.tags().join(', ')}`);
    assert.deepEqual(new Set(peer.tags()), new Set(expected));
    await stopChild(gw);
    gateway = undefined;
    assert.equal(integrityOf(dataDir), 'ok');
  } finally {
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    await peer.sink.stop();
    await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
    await dir.cleanup();
  }
});
