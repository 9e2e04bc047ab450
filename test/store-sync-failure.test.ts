import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { endOnDamagedWal } from '../src/app/damaged-wal.js';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { newQueueId } from '../src/lib/ids.js';
import type { NewMessage } from '../src/queue/queue-store.js';
import { type DurabilityEvent, provenDurability, StoreNotDurable } from '../src/store/durability.js';
import { sqlQueueStore } from '../src/store/sql-queue-store.js';
import { BetterSqlite3, SQLITE_DRIVER } from '../src/store/sqlite/driver.js';
import { openSqlite } from '../src/store/sqlite/open.js';
import { verifiedCheckpoint, withheldCheckpoints } from '../src/store/sqlite/verified-checkpoint.js';
import { WalDamaged } from '../src/store/sqlite/wal-frames.js';
import type { Db } from '../src/store/tables.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { scrape } from './support/metrics-scrape.js';
import { skipWithoutPeer } from './support/peers.js';
import { openDialog } from './support/smtp-dialog.js';
import { closedSink } from './support/smtp-sink.js';
import { integrityOf } from './support/sqlite-integrity.js';
import { send, submit } from './support/submit.js';
import { failSyncsOf, type SyncFault } from './support/sync-faults.js';
import { tempDir } from './support/temp-dir.js';
import { onlyOn } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

/**
 * fsyncgate on the embedded store: the fdatasync of SQLite's WAL after a commit fails with
 * EIO, injected by strace into the running gateway. The client of that commit is answered
 * 451 and will send the message again, so the gateway must never deliver its copy; and
 * since the kernel may have dropped the pages that failed to write, no later fdatasync
 * proves the store again, only a verified checkpoint does (src/store/sqlite/verified-checkpoint.ts).
 */

const NOT_DURABLE = '451 4.3.0 Queue storage failed to sync to disk; no mail is accepted until it is proven durable, try again later';

const ON_SQLITE = onlyOn('sqlite', 'PostgreSQL syncs its own files: a failed fsync stops it (PANIC) and it recovers from its WAL');

interface Credential {
  username: string;
  secret: string;
}

const tagged = (tag: string) => ({
  from: 'app@example.com',
  to: [`${tag}@example.net`],
  raw: `From: app@example.com\r\nTo: ${tag}@example.net\r\nSubject: ${tag}\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`,
});

/** The refusal nodemailer saw, as one reply line, and the command it answered. */
async function refusal(port: number, credential: Credential, tag: string): Promise<{ reply: string; command: string }> {
  const err = await send(port, credential, tagged(tag)).then(
    (reply) => assert.fail(`${tag} accepted: ${reply}`),
    (e: unknown) => e as { response?: string; command?: string },
  );
  return { reply: String(err.response), command: String(err.command) };
}

/** EHLO, STARTTLS, AUTH, then MAIL FROM: its whole reply. */
async function mailFromReply(port: number, credential: Credential): Promise<string> {
  const { dialog } = await openDialog(port);
  try {
    await dialog.ehlo();
    await dialog.startTls();
    await dialog.ehlo();
    assert.match(await dialog.authPlain(credential.username, credential.secret), /^235 /);
    return await dialog.send('MAIL FROM:<app@example.com>');
  } finally {
    dialog.close();
  }
}

async function readyz(port: number): Promise<{ status: number; body: { detail?: string; checks: Record<string, string> } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

/** The recipient of every message in the store, delivered or not: one per message here. */
async function queuedTags(env: NodeJS.ProcessEnv): Promise<string[]> {
  const listed = await runCli(['queue', 'list', '--all', '--json'], env);
  assert.equal(listed.code, 0, listed.stderr);
  const messages = JSON.parse(listed.stdout) as { recipients: { address: string }[] }[];
  return messages.map((m) => m.recipients[0]?.address.replace(/@.*/, '') ?? '?').sort();
}

function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => line.includes('"level":50'));
}

async function stopChild(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill('SIGTERM');
  assert.equal(await gateway.exited, 0, gateway.output());
}

test('a failed WAL sync: that message is answered 451 and never delivered; no 250 until a verified checkpoint proves the store', ON_SQLITE, async (t) => {
  const dir = await tempDir('relaygate-fsync-');
  // strace matches -P paths against the descriptors' resolved paths.
  const dataDir = await realpath(dir.path);
  const peer = await closedSink();
  let gateway: GatewayProcess | undefined;
  let fault: SyncFault | undefined;
  try {
    const env = gatewayEnv(dataDir, {
      RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${peer.sink.port}?tls=none`,
      RELAYGATE_LOG_LEVEL: 'info',
      RELAYGATE_QUEUE_RETRY_INITIAL: '200ms',
      RELAYGATE_QUEUE_RETRY_MAX: '500ms',
      RELAYGATE_QUEUE_POLL_INTERVAL: '200ms',
      RELAYGATE_QUEUE_LEASE: '3s',
      // One thread-pool thread runs every fdatasync, so "the first fdatasync after attaching" is
      // one call (strace counts per thread) and the fdatasync after it would succeed.
      UV_THREADPOOL_SIZE: '1',
    });
    await verifyTestDomainsIn(env);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'fsync', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as Credential;

    gateway = await spawnGateway(env);
    const gw = gateway;
    const { smtp, http } = gw.ports;
    // Accepted before the fault, and still queued when it comes: the sink refuses connections.
    const before = ['before-1', 'before-2'];
    for (const tag of before) assert.match((await submit(smtp, credential, tagged(tag))).response, /^250 2\.0\.0 Ok: queued as /);
    assert.equal((await readyz(http)).status, 200);

    const wal = join(dataDir, 'relaygate.db-wal');
    const attached = await failSyncsOf(gw.child.pid as number, [wal, join(dataDir, 'relaygate.db')], {
      tracePath: join(dir.path, 'strace.log'),
      firstFdatasyncOnly: true,
    });
    if ('unavailable' in attached) {
      // Skips, or fails under RELAYGATE_TEST_REQUIRE_PEERS=1.
      skipWithoutPeer(t, attached.unavailable);
      return;
    }
    fault = attached;

    // The fdatasync of its commit fails: 451 at the end of DATA.
    assert.deepEqual(await refusal(smtp, credential, 'failed-sync'), { reply: NOT_DURABLE, command: 'DATA' });
    // The next fdatasync would succeed (strace failed only the first), but it would prove
    // nothing: still no 250, refused at MAIL FROM now that the failure is known.
    assert.equal(await mailFromReply(smtp, credential), NOT_DURABLE);
    assert.deepEqual(await refusal(smtp, credential, 'while-not-durable'), { reply: NOT_DURABLE, command: 'MAIL FROM' });

    const notReady = await readyz(http);
    assert.equal(notReady.status, 503);
    const notDurable =
      /^not durable: fdatasync of relaygate\.db-wal failed with EIO at \d{4}-\d\d-\d\dT[\d:.]+Z \(EIO: i\/o error, fdatasync\); no mail is accepted until the store is proven durable \(/;
    assert.match(notReady.body.checks.store ?? '', notDurable);
    assert.match(notReady.body.detail ?? '', /^store: not durable: fdatasync of relaygate\.db-wal failed with EIO/);
    const metrics = await scrape(http);
    assert.equal(metrics.value('relaygate_store_durable'), 0);
    assert.equal(metrics.value('relaygate_store_sync_failures_total'), 1);
    // The checkpoint cannot prove the store while its fsyncs fail too: it stays not durable, and says why.
    const stillFailing = await waitFor(
      async () => {
        const r = await readyz(http);
        return r.status === 503 && /verified checkpoints? failed so far, the last with SQLITE_IOERR/.test(r.body.checks.store ?? '') ? r : undefined;
      },
      { what: '/readyz to report a failed proof' },
    );
    t.diagnostic(stillFailing.body.checks.store ?? '');

    // The worker runs on: what was accepted before the fault is delivered. The refused
    // message would have been due first, yet it is not delivered, nor left in the store.
    peer.open();
    await waitFor(() => before.every((tag) => peer.tags().includes(tag)), { what: 'the messages accepted before the fault at the sink', timeoutMs: 60_000 });
    assert.deepEqual(await queuedTags(env), before);
    await waitFor(async () => (await readdir(join(dataDir, 'spool'))).length === 0, { what: 'the spool to empty (no body of a refused message left)' });
    assert.deepEqual(peer.tags().sort(), before);
    const failures = errorLines(gw.output());
    assert.equal(failures.length, 1, `one error line for the failed sync:\n${failures.join('\n')}`);
    assert.match(failures[0] as string, /"event":"store\.not-durable".*"code":"EIO"/);

    // The disk works again: the next checkpoint proves the store, and mail is accepted.
    await fault.stop();
    const trace = await fault.trace();
    fault = undefined;
    assert.equal(trace.match(/fdatasync\(\d+\) += -1 EIO .*\(INJECTED\)/g)?.length, 1, `one fdatasync failed:\n${trace}`);
    await waitFor(async () => (await readyz(http)).status === 200, { what: '/readyz to recover once a checkpoint succeeds', timeoutMs: 60_000 });
    assert.equal((await scrape(http)).value('relaygate_store_durable'), 1);
    assert.match(gw.output(), /"event":"store\.durable".*store proven durable again by a verified checkpoint/);
    assert.match((await submit(smtp, credential, tagged('after-proof'))).response, /^250 2\.0\.0 Ok: queued as /);
    await waitFor(() => peer.tags().includes('after-proof'), { what: 'the message accepted after the proof at the sink', timeoutMs: 60_000 });
    assert.equal(errorLines(gw.output()).length, 1, 'still the one error line: failed proofs are warnings');
    await stopChild(gw);
    gateway = undefined;

    // After a restart, nothing refused comes back.
    gateway = await spawnGateway(env);
    assert.match((await submit(gateway.ports.smtp, credential, tagged('after-restart'))).response, /^250 /);
    await waitFor(() => peer.tags().includes('after-restart'), { what: 'the message accepted after the restart at the sink', timeoutMs: 60_000 });
    const accepted = [...before, 'after-proof', 'after-restart'].sort();
    assert.deepEqual(await queuedTags(env), accepted);
    await stopChild(gateway);
    gateway = undefined;
    assert.deepEqual(peer.tags().sort(), accepted, 'each accepted message delivered once, no refused one');
    assert.equal(integrityOf(dataDir), 'ok');
  } finally {
    await fault?.stop();
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    await peer.sink.stop();
    await dir.cleanup();
  }
});

// --- the parts, in-process (the embedded store's files themselves whatever the engine under test) ---

const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

test('durability: after a failed sync no sync is trusted, and none is even made, until a proof succeeds with every repair done first', async () => {
  let syncs = 0;
  let failNext = false;
  let proofs = 0;
  let allowProof: () => void = () => undefined;
  const proofAllowed = new Promise<void>((resolve) => {
    allowProof = resolve;
  });
  const order: string[] = [];
  const durability = provenDurability({
    syncName: 'fdatasync of test.db-wal',
    sync: async () => {
      syncs += 1;
      if (failNext) {
        failNext = false;
        throw eio();
      }
    },
    prove: async () => {
      order.push('prove');
      proofs += 1;
      if (proofs === 1) throw new Error('SQLITE_IOERR_FSYNC: disk I/O error');
      await proofAllowed;
    },
    proofRetry: { initialMs: 20, maxMs: 20 },
  });
  const events: DurabilityEvent['kind'][] = [];
  durability.onChange((e) => events.push(e.kind));
  try {
    await durability.syncCommitted();
    failNext = true;
    // Both callers share the failing sync; the one that comes while it runs gets the next turn, and no sync.
    const first = durability.syncCommitted();
    const second = durability.syncCommitted();
    await assert.rejects(first, (err: unknown) => err instanceof StoreNotDurable && err.failure.code === 'EIO');
    await assert.rejects(second, StoreNotDurable);
    assert.equal(syncs, 2);
    assert.match(durability.failure()?.message ?? '', /^EIO: i\/o error, fdatasync$/);
    // A repair that fails at once is retried before the first proof, and no proof runs before it succeeds.
    let repairRuns = 0;
    await assert.rejects(
      durability.repairBeforeProof(async () => {
        repairRuns += 1;
        order.push(`repair ${repairRuns}`);
        if (repairRuns === 1) throw new Error('store busy');
      }),
      /store busy/,
    );
    await waitFor(() => events.includes('proof-failed'), { what: 'a failed proof' });
    await assert.rejects(durability.syncCommitted(), StoreNotDurable);
    assert.equal(syncs, 2, 'no sync while not durable');
    allowProof();
    await waitFor(() => events.includes('proven'), { what: 'the proof' });
    assert.deepEqual(order, ['repair 1', 'repair 2', 'prove', 'prove']);
    assert.deepEqual(events, ['lost', 'proof-failed', 'proven']);
    assert.equal(durability.failure(), undefined);
    await durability.syncCommitted();
    assert.equal(syncs, 3, 'synced again once proven');
  } finally {
    await durability.close();
  }
});

function message(tag: string): NewMessage {
  const now = Date.now();
  return {
    id: newQueueId(now),
    envelope: { mailFrom: 'app@example.com', recipients: [{ address: `${tag}@example.net` }] },
    sizeBytes: 100,
    receivedAt: now,
    expiresAt: now + 3_600_000,
    credentialId: null,
    clientIp: '127.0.0.1',
    isDsn: false,
  };
}

async function rowsOf(db: Db, id: string): Promise<number> {
  const [messages, recipients, events] = await Promise.all([
    db.selectFrom('messages').select('id').where('id', '=', id).execute(),
    db.selectFrom('recipients').select('id').where('message_id', '=', id).execute(),
    db.selectFrom('events').select('id').where('message_id', '=', id).execute(),
  ]);
  return messages.length + recipients.length + events.length;
}

test('queue store: a commit whose sync fails is undone, and a claim made while that sync ran does not get it', async () => {
  const dir = await tempDir('relaygate-undo-');
  const store = await openStore(loadConfig({ env: gatewayEnv(dir.path), overrides: {} }));
  let answerSync: ((err?: Error) => void) | undefined;
  const durability = provenDurability({
    syncName: 'test sync',
    sync: () =>
      new Promise<void>((resolve, reject) => {
        answerSync = (err) => (err ? reject(err) : resolve());
      }),
    prove: async () => Promise.reject(new Error('not in this test')),
    proofRetry: { initialMs: 600_000, maxMs: 600_000 },
  });
  try {
    const queue = sqlQueueStore(store.db, durability.syncCommitted, durability);
    const doomed = message('doomed');
    const committing = queue.commit([doomed]);
    committing.catch(() => undefined);
    // Committed and visible, its sync still running: a claim now must wait for the sync's outcome.
    await waitFor(async () => answerSync !== undefined && (await rowsOf(store.db, doomed.id)) > 0, { what: 'the rows committed, the sync running' });
    const claiming = queue.claimDue('test-worker', Date.now() + 1000, 10, 60_000);
    answerSync?.(eio());
    await assert.rejects(committing, StoreNotDurable);
    assert.deepEqual(await claiming, [], 'the claim that saw the rows does not deliver them');
    assert.equal(await rowsOf(store.db, doomed.id), 0, 'the compensating transaction deleted its rows');
    // Not durable now: refused before anything is written.
    const later = message('later');
    await assert.rejects(queue.commit([later]), StoreNotDurable);
    assert.equal(await rowsOf(store.db, later.id), 0);
  } finally {
    await durability.close();
    await store.close();
    await dir.cleanup();
  }
});

test('queue store: rows whose compensation failed are never claimed by this process, nor keep its worker polling', async () => {
  const dir = await tempDir('relaygate-undo-failed-');
  const store = await openStore(loadConfig({ env: gatewayEnv(dir.path), overrides: {} }));
  try {
    const failing = async () => Promise.reject(eio());
    const cannotRepair = { failure: () => undefined, repairBeforeProof: async () => Promise.reject(new Error('the store refuses writes')) };
    const queue = sqlQueueStore(store.db, failing, cannotRepair);
    const stuck = message('stuck');
    await assert.rejects(queue.commit([stuck]), /EIO/);
    assert.ok((await rowsOf(store.db, stuck.id)) > 0, 'the rows are still there');
    assert.deepEqual(await queue.claimDue('test-worker', Date.now() + 1000, 10, 60_000), []);
    assert.equal(await queue.nextDueAt(), undefined);
    // Another process's store (the CLI's) does not know them: only this process holds back.
    assert.equal((await sqlQueueStore(store.db, store.syncCommitted).claimDue('other', Date.now() + 1000, 10, 60_000)).length, 1);
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test('a WAL the last run left behind (killed, or its last checkpoint failed) is proven before the gateway trusts the store', async () => {
  const dir = await tempDir('relaygate-leftover-');
  const path = join(dir.path, 'relaygate.db');
  const wal = `${path}-wal`;
  try {
    const last = await openSqlite(path);
    await last.db.insertInto('health_heartbeat').values({ id: 'leftover', beat_at: Date.now() }).execute();
    // Another connection in a read transaction keeps SQLite's close from checkpointing the WAL
    // away, as a kill would, and then holds back the first proof as well.
    const reader = new BetterSqlite3(path);
    reader.exec('begin');
    reader.prepare('select count(*) from health_heartbeat').get();
    await last.close();
    assert.ok(statSync(wal).size > 0, 'the WAL is left behind');

    const cli = await openSqlite(path);
    assert.equal(cli.durability.failure(), undefined, 'the CLI does not prove anything');
    await cli.close();

    const gateway = await openSqlite(path, { proveLeftoverWal: true });
    try {
      const failure = gateway.durability.failure();
      assert.equal(failure?.code, 'SQLITE_BUSY');
      assert.match(failure?.sync ?? '', /^verified checkpoint of the WAL left by the last run \([\d.]+ [kM]?B\)$/);
      await assert.rejects(gateway.syncCommitted(), StoreNotDurable);
      const heard: DurabilityEvent['kind'][] = [];
      gateway.durability.onChange((e) => heard.push(e.kind));
      assert.deepEqual(heard, ['lost'], 'a listener that comes later hears of it');
      reader.exec('commit');
      reader.close();
      await waitFor(() => gateway.durability.failure() === undefined, { what: 'the retried proof' });
      assert.deepEqual(heard, ['lost', 'proven']);
      assert.equal(statSync(wal).size, 0, 'the WAL was checkpointed into the database file and emptied');
      await gateway.syncCommitted();
    } finally {
      await gateway.close();
    }
    // A clean stop leaves no WAL: nothing to prove.
    assert.equal(existsSync(wal), false);
    const again = await openSqlite(path, { proveLeftoverWal: true });
    assert.equal(again.durability.failure(), undefined);
    await again.close();
  } finally {
    await dir.cleanup();
  }
});

/** Flips one byte of the page in the last WAL frame: what a read returns once the page cache lost a page that failed to write. */
function staleLastFrame(wal: string): void {
  const fd = openSync(wal, 'r+');
  try {
    const header = Buffer.alloc(32);
    readSync(fd, header, 0, 32, 0);
    const frameBytes = 24 + header.readUInt32BE(8);
    const frames = Math.floor((statSync(wal).size - 32) / frameBytes);
    const at = 32 + (frames - 1) * frameBytes + 24 + 100;
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    writeSync(fd, Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

test('a WAL frame that is not what SQLite wrote: no checkpoint copies it; the recovery of the next open drops it', async () => {
  const dir = await tempDir('relaygate-stale-wal-');
  const path = join(dir.path, 'relaygate.db');
  const wal = `${path}-wal`;
  try {
    const store = await openSqlite(path);
    try {
      await store.db.insertInto('health_heartbeat').values({ id: 'kept', beat_at: 1 }).execute();
      await store.db.insertInto('health_heartbeat').values({ id: 'stale', beat_at: 2 }).execute();
      await verifiedCheckpoint(store.db, path);
      assert.equal(statSync(wal).size, 0, 'a sound WAL is checkpointed away');
      await store.db.insertInto('health_heartbeat').values({ id: 'after', beat_at: 3 }).execute();
      staleLastFrame(wal);
      const database = readFileSync(path);
      const walBytes = statSync(wal).size;
      await assert.rejects(verifiedCheckpoint(store.db, path), (err: unknown) => {
        assert.ok(err instanceof WalDamaged);
        assert.match(
          err.message,
          /^WAL frame \d+ of \d+ is not what SQLite wrote \(a write that failed left it stale\); only SQLite's recovery at the next start can set the store right$/,
        );
        return true;
      });
      assert.ok(readFileSync(path).equals(database), 'nothing was copied into the database file');
      assert.equal(statSync(wal).size, walBytes);
    } finally {
      await store.close();
    }

    // While not durable no automatic checkpoint runs; a gateway that finds its WAL damaged ends at once, with a fatal line.
    const other = await openSqlite(path);
    try {
      let tell: (event: DurabilityEvent) => void = () => undefined;
      withheldCheckpoints(other.db, { onChange: (listener) => (tell = listener) });
      const automatic = async () => (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(other.db)).rows[0]?.wal_autocheckpoint;
      const failure = { sync: 'test', code: 'EIO', message: 'EIO', since: Date.now(), proofAttempts: 0, lastProofError: undefined };
      const before = await automatic();
      assert.ok(before !== undefined && before > 0, 'automatic checkpoints on at first');
      tell({ kind: 'lost', failure });
      await waitFor(async () => (await automatic()) === 0, { what: 'automatic checkpoints off' });
      tell({ kind: 'proven', failure, at: Date.now() });
      await waitFor(async () => (await automatic()) === before, { what: 'automatic checkpoints back' });
    } finally {
      await other.close();
    }
    const lines: string[] = [];
    let ended = 0;
    const onEvent = endOnDamagedWal(pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), () => {
      ended += 1;
    });
    const failure = { sync: 'test', code: 'EIO', message: 'EIO', since: Date.now(), proofAttempts: 1, lastProofError: 'SQLITE_IOERR_FSYNC' };
    onEvent({ kind: 'proof-failed', failure, err: Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_FSYNC' }) });
    assert.equal(ended, 0, 'a failed proof alone does not end the gateway');
    onEvent({ kind: 'proof-failed', failure, err: new WalDamaged('WAL frame 2 of 2 is not what SQLite wrote') });
    await waitFor(() => ended === 1, { what: 'the gateway to end' });
    assert.match(lines.join(''), /"level":60.*"event":"store\.wal-damaged".*the gateway ends now, without closing the store/);

    // The last run ended with its connection open (killed, or exited so): its WAL stays, and a frame of its last commit is stale.
    execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const Database = createRequire(${JSON.stringify(join(process.cwd(), 'package.json'))})(${JSON.stringify(SQLITE_DRIVER)});
       const db = new Database(${JSON.stringify(path)});
       db.pragma('journal_mode = WAL');
       db.prepare("insert into health_heartbeat (id, beat_at) values ('last-good', 4)").run();
       db.prepare("insert into health_heartbeat (id, beat_at) values ('torn', 5)").run();
       process.exit(0);`,
    ]);
    staleLastFrame(wal);
    const reopened = await openSqlite(path, { proveLeftoverWal: true });
    try {
      assert.equal(reopened.durability.failure(), undefined, 'proven: recovery kept the WAL up to its last intact frame');
      const ids = (await reopened.db.selectFrom('health_heartbeat').select('id').orderBy('id').execute()).map((r) => r.id);
      assert.deepEqual(ids, ['after', 'kept', 'last-good', 'stale'].sort(), 'the commit with the stale frame is gone, everything before it kept');
      assert.equal(statSync(wal).size, 0);
    } finally {
      await reopened.close();
    }
    assert.equal(integrityOf(dir.path), 'ok');
  } finally {
    await dir.cleanup();
  }
});
