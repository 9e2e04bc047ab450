/**
 * PostgreSQL goes away and comes back (issue 18, point 1), against gateway child processes
 * on the real server, a schema per test. "Restart" is pg_terminate_backend on the backends
 * of the test's own gateways alone (found by their application_name, `relaygate:<instance>`:
 * other runs share this server); "unreachable for a while" is a TCP proxy between the
 * gateways and PostgreSQL that resets every connection and refuses new ones until restored.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { scrape } from './support/metrics-scrape.js';
import { needsPeer } from './support/peers.js';
import { startSmtpSink } from './support/smtp-sink.js';
import type { SubmitCredential } from './support/submit.js';
import { type TcpProxy, tcpProxy } from './support/tcp-proxy.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { postgresTestUrl, postgresUnavailable, schemaUrl } from './support/test-database.js';
import { sleep, waitFor } from './support/wait-for.js';

/** Starting a gateway from the sources takes seconds, on a loaded CI machine tens of them. */
const SLOW_START = { startTimeoutMs: 90_000 };
const NEEDS_POSTGRES = { timeout: 300_000, ...needsPeer(postgresUnavailable()) };
/** Far longer than any wait below: a delivery that happens was woken by a NOTIFY, not found by a poll. */
const POLL_INTERVAL = '10m';

/** The test database URL in a schema of its own, reached through `proxy`. */
function proxiedUrl(name: string, proxy: TcpProxy): string {
  const url = new URL(schemaUrl(`${name}-${randomBytes(6).toString('hex')}`));
  url.host = `127.0.0.1:${proxy.port}`;
  return url.toString();
}

function serverOfTestDatabase(): { host: string; port: number } {
  const url = new URL(postgresTestUrl() as string);
  return { host: url.hostname, port: Number(url.port || 5432) };
}

/** Terminates every backend of the gateway on `dataDir` (its pool and its LISTEN connection), none of anyone else's. */
async function terminateBackends(dataDir: string): Promise<number> {
  const instance = (await readFile(join(dataDir, 'instance-id'), 'utf8')).trim();
  const admin = new pg.Client({ connectionString: postgresTestUrl() as string });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where (application_name = $1 or application_name = $1 || ':listen') and pid <> pg_backend_pid()`,
      [`relaygate:${instance}`],
    );
    return rows.length;
  } finally {
    await admin.end();
  }
}

async function readyz(gateway: GatewayProcess): Promise<{ status: number; checks: Record<string, string> }> {
  const answer = await fetch(`http://127.0.0.1:${gateway.ports.http}/readyz`);
  const body = (await answer.json()) as { checks?: Record<string, string> };
  return { status: answer.status, checks: body.checks ?? {} };
}

type Reply = { code: number; text: string } | { code: 'none'; text: string };

/** One submission with a bounded wait for every reply: a gateway that hangs fails the test instead of stalling it. */
async function trySubmit(port: number, credential: SubmitCredential, tag: string): Promise<Reply> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    requireTLS: true,
    auth: { user: credential.username, pass: credential.secret },
    tls: { rejectUnauthorized: false },
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 30_000,
  });
  const raw = `From: app@example.com\r\nTo: someone@example.net\r\nSubject: ${tag}\r\nMessage-ID: <${tag}@faults.example.com>\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`;
  try {
    const info = await transport.sendMail({ envelope: { from: 'app@example.com', to: ['someone@example.net'] }, raw });
    return { code: Number(info.response.slice(0, 3)), text: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; code?: string; message: string };
    return e.responseCode ? { code: e.responseCode, text: e.response ?? e.message } : { code: 'none', text: `${e.code ?? ''} ${e.message}` };
  } finally {
    transport.close();
  }
}

const tagOf = (raw: Buffer) => /^X-Tag: (\S+)/m.exec(raw.toString())?.[1] ?? 'untagged';
/** The queue id in the gateway's own Received field (pipeline/trace-headers.ts). */
const queueIdOf = (raw: Buffer) => /\(Relaygate\) with \S+ id ([0-9A-Z]+)/.exec(raw.toString())?.[1] ?? 'no id';

test(
  'PostgreSQL backends terminated and the server unreachable for a while: the gateway stays up, is not ready meanwhile, and delivers by NOTIFY once it is back',
  NEEDS_POSTGRES,
  async (t) => {
    const sink = await startSmtpSink({ tls: 'none' });
    const proxy = await tcpProxy(serverOfTestDatabase());
    const dirs: TempDir[] = [];
    const gateways: GatewayProcess[] = [];
    const shared = {
      RELAYGATE_DATABASE_URL: proxiedUrl('pg-outage', proxy),
      RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
      RELAYGATE_QUEUE_POLL_INTERVAL: POLL_INTERVAL,
      RELAYGATE_LOG_LEVEL: 'info',
    };
    try {
      // The front end accepts, the worker delivers: the worker hears of new mail only by NOTIFY (or its poll).
      const envs: NodeJS.ProcessEnv[] = [];
      for (const role of ['smtp', 'worker']) {
        const dir = await tempDir(`relaygate-pgfault-${role}-`);
        dirs.push(dir);
        envs.push(gatewayEnv(dir.path, { ...shared, RELAYGATE_ROLE: role }));
      }
      const [frontEnv] = envs as [NodeJS.ProcessEnv];
      await verifyTestDomainsIn(frontEnv);
      const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'pg-outage', '--json'], frontEnv);
      assert.equal(created.code, 0, created.stderr);
      const credential = JSON.parse(created.stdout) as SubmitCredential;
      // One after the other: two starting at once on a busy machine can outlast the start timeout.
      for (const env of envs) gateways.push(await spawnGateway(env, SLOW_START));
      const [front, worker] = gateways as [GatewayProcess, GatewayProcess];
      const listenConnected = async () => (await scrape(worker.ports.http)).value('relaygate_queue_listen_connected');
      const reconnects = async () => (await scrape(worker.ports.http)).value('relaygate_queue_listen_reconnects_total');
      assert.equal(await listenConnected(), 1, 'the worker listens for wake-ups');

      // A restart of PostgreSQL, as the gateways see it: every backend of theirs goes.
      const killed = (await terminateBackends(dirs[0]?.path as string)) + (await terminateBackends(dirs[1]?.path as string));
      t.diagnostic(`terminated ${killed} backends of the two gateways`);
      assert.ok(killed >= 2, 'at least the pools and the LISTEN connection had backends');
      await waitFor(async () => (await reconnects()) >= 1 && (await listenConnected()) === 1, {
        what: 'the LISTEN connection to come back after the terminations',
      });

      // An outage: the server cannot be reached at all.
      proxy.cut();
      for (const gateway of gateways) {
        const started = Date.now();
        const answer = await readyz(gateway);
        const tookMs = Date.now() - started;
        t.diagnostic(`/readyz answered ${answer.status} in ${tookMs} ms: ${JSON.stringify(answer.checks)}`);
        assert.equal(answer.status, 503, 'not ready while PostgreSQL is unreachable');
        assert.ok(tookMs < 2000, 'and said so within 2 s');
        assert.match(answer.checks.store ?? '', /^not writable: /);
      }
      await waitFor(async () => (await listenConnected()) === 0, { what: 'the metric to show the LISTEN connection lost' });
      assert.match((await readyz(worker)).checks.queueWakeups ?? '', /LISTEN connection lost .*; reconnecting, polling every 10m meanwhile/);
      const during = await trySubmit(front.ports.smtp, credential, 'during');
      assert.ok(typeof during.code === 'number' && during.code >= 400 && during.code < 500, `a 4xx while the store is unreachable: ${during.text}`);

      proxy.restore();
      for (const gateway of gateways)
        await waitFor(async () => (await readyz(gateway)).status === 200, { what: '/readyz to answer 200 once PostgreSQL is back' });
      await waitFor(async () => (await listenConnected()) === 1, { what: 'the LISTEN connection to be re-established' });
      assert.ok((await reconnects()) >= 2);
      assert.equal((await readyz(worker)).checks.queueWakeups, 'ok');

      const after = await trySubmit(front.ports.smtp, credential, 'after');
      assert.equal(after.code, 250, after.text);
      // Within 30 s, where the next poll would be 10 minutes away: the NOTIFY woke the worker.
      const [delivered] = await sink.waitForMessages(1, 30_000);
      assert.equal(tagOf(delivered?.raw ?? Buffer.alloc(0)), 'after');
      assert.equal(front.child.exitCode, null, 'the front end is still running');
      assert.equal(worker.child.exitCode, null, 'the worker is still running');
      const logged = worker.output().match(/LISTEN connection to PostgreSQL lost/g) ?? [];
      assert.equal(logged.length, 2, 'each loss is logged once, not once per reconnect attempt');
    } finally {
      for (const gateway of gateways) gateway.child.kill('SIGTERM');
      await Promise.all(gateways.map((g) => g.exited));
      await proxy.stop();
      await sink.stop();
      for (const dir of dirs) await dir.cleanup();
    }
  },
);

test(
  'backends terminated again and again under a load of SMTP submissions: every 250 is delivered exactly once, every other reply is a 4xx, the process stays up',
  NEEDS_POSTGRES,
  async (t) => {
    const sink = await startSmtpSink({ tls: 'none' });
    const proxy = await tcpProxy(serverOfTestDatabase());
    const dir = await tempDir('relaygate-pgfault-load-');
    let gateway: GatewayProcess | undefined;
    const env = gatewayEnv(dir.path, {
      RELAYGATE_DATABASE_URL: proxiedUrl('pg-load', proxy),
      RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
      RELAYGATE_LOG_LEVEL: 'warn',
      // A delivery whose outcome could not be recorded is tried again within the test.
      RELAYGATE_QUEUE_LEASE: '5s',
      RELAYGATE_QUEUE_RETRY_INITIAL: '1s',
      RELAYGATE_QUEUE_RETRY_MAX: '2s',
    });
    try {
      await verifyTestDomainsIn(env);
      const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'pg-load', '--json'], env);
      assert.equal(created.code, 0, created.stderr);
      const credential = JSON.parse(created.stdout) as SubmitCredential;
      gateway = await spawnGateway(env, SLOW_START);
      const smtpPort = gateway.ports.smtp;

      let loading = true;
      let terminations = 0;
      const faults = (async () => {
        // A round of terminations every 1.5 s, and every third round an outage of a second.
        for (let round = 1; loading; round++) {
          terminations += await terminateBackends(dir.path);
          if (round % 3 === 0) {
            proxy.cut();
            await sleep(1000);
            proxy.restore();
          }
          await sleep(1500);
        }
      })();
      // Each client retries after a 4xx, as an MTA or an application's mail library does.
      const replies: { tag: string; reply: Reply }[] = [];
      const MESSAGES = 24;
      const TRIES = 10;
      await Promise.all(
        Array.from({ length: MESSAGES }, async (_, n) => {
          const tag = `m${String(n).padStart(3, '0')}`;
          for (let attempt = 1; attempt <= TRIES; attempt++) {
            const reply = await trySubmit(smtpPort, credential, tag);
            replies.push({ tag, reply });
            if (reply.code === 250 || typeof reply.code !== 'number' || reply.code >= 500) return;
            await sleep(500);
          }
        }),
      );
      loading = false;
      await faults;
      const queueIds = replies.flatMap(({ reply }) => (reply.code === 250 ? [/queued as ([0-9A-Z]+)/.exec(reply.text)?.[1] as string] : []));
      const refused = replies.filter(({ reply }) => reply.code !== 250);
      t.diagnostic(
        `${terminations} backends terminated; ${queueIds.length} accepted, ${refused.length} refused: ${[...new Set(refused.map(({ reply }) => reply.text.slice(0, 40)))].join(' | ')}`,
      );
      assert.equal(gateway.child.exitCode, null, `the gateway is still running:\n${gateway.output().slice(-4000)}`);
      for (const { tag, reply } of refused)
        assert.ok(
          typeof reply.code === 'number' && reply.code >= 400 && reply.code < 500,
          `${tag}: a 4xx (try later), never a 5xx or no answer: ${reply.text}`,
        );
      assert.ok(queueIds.length > 0, 'mail got through between the faults');
      assert.ok(terminations > 0);

      const deliveredIds = () => sink.messages.map((m) => queueIdOf(m.raw));
      await waitFor(() => queueIds.every((id) => deliveredIds().includes(id)), { what: 'every accepted message at the sink', timeoutMs: 60_000 });
      // A little longer: a duplicate would come after the last expected delivery, once a lease ran out.
      await sleep(6000);
      const delivered = deliveredIds();
      for (const id of queueIds) assert.equal(delivered.filter((d) => d === id).length, 1, `${id} delivered exactly once`);
      // A 451 after a commit whose acknowledgement was lost is delivered too (the client's retry is then a second message, not a loss); none twice.
      assert.equal(new Set(delivered).size, delivered.length, 'no queued message delivered twice');
      assert.equal(gateway.child.exitCode, null, `the gateway is still running:\n${gateway.output().slice(-4000)}`);
      assert.equal((await readyz(gateway)).status, 200);
    } finally {
      gateway?.child.kill('SIGTERM');
      await gateway?.exited;
      await proxy.stop();
      await sink.stop();
      await dir.cleanup();
    }
  },
);
