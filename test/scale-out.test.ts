/**
 * Several instances on one PostgreSQL queue (issue 8): three gateways started as child
 * processes share one schema; mail goes in through all three front ends; one instance is
 * killed with SIGKILL while it is in the middle of deliveries; every accepted message
 * reaches the sink exactly once per recipient.
 *
 * The sink holds its final 250 while the kill lands, so what the dead instance was
 * delivering was never accepted: the sink drops a transfer whose connection closed before
 * its 250, as any MTA does. No delivery can then be both accepted and lost with its
 * instance, and a duplicate at the sink can only come from two live instances delivering
 * the same recipient, which is what the test is about.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { type SubmitCredential, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const INSTANCES = 3;
const MESSAGES = 30;
const RECIPIENTS = ['first@example.net', 'second@example.net'];
/** Deliveries the sink lets through before it starts holding its replies. */
const ACCEPTED_BEFORE_KILL = 8;
const SLOW_OK = { timeout: 180_000 };

interface HoldingSink {
  port: number;
  /** `tag rcpt` of every recipient the sink answered 250 for, in order. */
  accepted: string[];
  /** Tags of the messages whose transfers wait for their final reply. */
  waitingTags(): string[];
  /** The transfer of `tag` waiting for its final reply has lost its client. */
  hungUp(tag: string): boolean;
  hold(): void;
  release(): void;
  stop(): Promise<void>;
}

/** An MTA whose final reply to DATA can be held back; a transfer whose client is gone before the reply is not accepted. */
async function holdingSink(acceptFirst: number): Promise<HoldingSink> {
  let open = true;
  let opened: () => void = () => undefined;
  let gate = Promise.resolve();
  const sink: HoldingSink = {
    port: 0,
    accepted: [],
    hold() {
      open = false;
      gate = new Promise((resolve) => {
        opened = resolve;
      });
    },
    release() {
      open = true;
      opened();
    },
    waitingTags: () => [...waiting.values()],
    hungUp: (tag) => [...waiting].some(([port, waitingTag]) => waitingTag === tag && closedPorts.has(port)),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  let deliveries = 0;
  /** Remote port → tag of the transfer waiting on that connection. */
  const waiting = new Map<number, string>();
  const closedPorts = new Set<number>();
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', async () => {
        deliveries += 1;
        if (deliveries === acceptFirst) sink.hold();
        const tag = /^X-Tag: (\S+)/m.exec(Buffer.concat(chunks).toString())?.[1] ?? 'untagged';
        waiting.set(session.remotePort, tag);
        while (!open) await gate;
        waiting.delete(session.remotePort);
        if (closedPorts.has(session.remotePort)) return callback(new Error('client gone'));
        for (const rcpt of session.envelope.rcptTo) sink.accepted.push(`${tag} ${rcpt.address}`);
        callback(null, 'accepted');
      });
    },
  });
  server.on('error', () => undefined);
  // A client's sockets close when its process dies; smtp-server's session knows only the port.
  server.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort ?? 0;
    closedPorts.delete(port);
    socket.once('close', () => closedPorts.add(port));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = (server.server.address() as { port: number }).port;
  return sink;
}

function taggedMessage(tag: string): string {
  return `From: app@example.com\r\nTo: ${RECIPIENTS.join(', ')}\r\nSubject: ${tag}\r\nMessage-ID: <${tag}@scale.example.com>\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`;
}

test('three instances on one PostgreSQL queue, one killed with kill -9 mid-delivery: every accepted message delivered exactly once per recipient', {
  ...SLOW_OK,
  ...needsPeer(postgresUnavailable()),
}, async (t) => {
  const databaseUrl = schemaUrl(`scale-out-${randomBytes(6).toString('hex')}`);
  const sink = await holdingSink(ACCEPTED_BEFORE_KILL);
  const dirs: TempDir[] = [];
  const gateways: GatewayProcess[] = [];
  const shared = {
    RELAYGATE_DATABASE_URL: databaseUrl,
    RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'warn',
    // Short enough that the dead instance's work comes back within the test.
    RELAYGATE_QUEUE_LEASE: '4s',
    RELAYGATE_QUEUE_RETRY_INITIAL: '1s',
    RELAYGATE_QUEUE_RETRY_MAX: '2s',
    RELAYGATE_QUEUE_CONCURRENCY: '4',
  };
  try {
    for (let i = 0; i < INSTANCES; i++) dirs.push(await tempDir(`relaygate-scale-${i}-`));
    const envs = dirs.map((dir) => gatewayEnv(dir.path, shared));
    const [firstEnv] = envs as [NodeJS.ProcessEnv];
    await verifyTestDomainsIn(firstEnv);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'scale-out', '--json'], firstEnv);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as SubmitCredential;
    gateways.push(...(await Promise.all(envs.map((env) => spawnGateway(env)))));

    // Round robin over the three front ends, a few transactions at a time.
    const accepted: string[] = [];
    const tagOf = new Map<string, string>();
    for (let first = 0; first < MESSAGES; first += 6) {
      await Promise.all(
        Array.from({ length: Math.min(6, MESSAGES - first) }, async (_, k) => {
          const n = first + k;
          const tag = `m${String(n).padStart(3, '0')}`;
          const gateway = gateways[n % INSTANCES] as GatewayProcess;
          const { queueId } = await submit(gateway.ports.smtp, credential, { from: 'app@example.com', to: RECIPIENTS, raw: taggedMessage(tag) });
          accepted.push(tag);
          tagOf.set(queueId, tag);
        }),
      );
    }
    assert.equal(accepted.length, MESSAGES, 'every front end accepted its share');

    // The sink now holds every final reply: the victim is caught mid-delivery, before any 250.
    const victim = gateways[1] as GatewayProcess;
    const config = loadConfig({ env: firstEnv });
    const store = await openStore(config);
    try {
      // Its transfers waiting at the sink: those of the messages it holds leases on.
      const victimWaiting = async () => {
        const rows = await store.db
          .selectFrom('recipients')
          .select('message_id')
          .where('lease_owner', 'like', `%:${victim.child.pid}-%`)
          .where('status', 'in', ['queued', 'deferred'])
          .execute();
        const leased = new Set(rows.map((r) => tagOf.get(r.message_id)));
        return sink.waitingTags().filter((tag) => leased.has(tag));
      };
      const inFlight = await waitFor(async () => ((await victimWaiting()).length > 0 ? victimWaiting() : undefined), {
        what: 'the second instance to be in the middle of deliveries',
        timeoutMs: 60_000,
      });
      t.diagnostic(
        `killing instance 2 (pid ${victim.child.pid}) while its transfers of ${inFlight.join(', ')} wait for the final reply; ${sink.accepted.length} recipient(s) accepted so far`,
      );
      victim.child.kill('SIGKILL');
      await victim.exited;
      // Every one of its waiting transfers (more may have arrived since) must be seen as cut off, or the sink would accept one.
      await waitFor(async () => (await victimWaiting()).every((tag) => sink.hungUp(tag)), {
        what: 'the sink to see the killed instance hang up on each transfer',
      });
    } finally {
      await store.close();
    }
    sink.release();

    const expected = accepted.flatMap((tag) => RECIPIENTS.map((rcpt) => `${tag} ${rcpt}`)).sort();
    await waitFor(() => sink.accepted.length >= expected.length, {
      what: `${expected.length} recipient deliveries at the sink (have ${sink.accepted.length})`,
      timeoutMs: 90_000,
    });
    // A little longer: a duplicate would arrive after the last expected delivery.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual([...sink.accepted].sort(), expected, 'each accepted message reached each recipient exactly once');
  } finally {
    sink.release();
    for (const gateway of gateways) gateway.child.kill('SIGKILL');
    await Promise.all(gateways.map((g) => g.exited));
    await sink.stop();
    for (const dir of dirs) await dir.cleanup();
  }
});
