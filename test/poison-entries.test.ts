import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/index.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { scrape } from './support/metrics-scrape.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { type BodyDamage, damageStoredBody, plantOrphanBody } from './support/stored-bodies.js';
import { submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

interface ListedMessage {
  id: string;
  recipients: { address: string; status: string; attempts: number; lastReply: string | null }[];
}

const ORPHAN_ID = '01JD3V6Q9ZK5M2X8T4R7W1B0CE';

// A body torn on disk (or in its rows) since its acceptance is never sent as if complete, and
// a missing one is not retried as a "DKIM signing failed": both are parked for an operator,
// after one attempt, with the reason in `queue list`, the log and the metrics; the missing
// one's sender gets a DSN with the envelope data. The gateway that accepted them is stopped
// before the damage, so no body is still held in its memory.
test('torn and missing bodies are parked after one attempt, never sent; the missing one is reported to its sender', async (t) => {
  const dir = await tempDir('relaygate-poison-');
  const sink = await startSmtpSink({ tls: 'none' });
  sink.behaviour.connect = () => '421 4.3.2 smarthost down for the test';
  const env = gatewayEnv(dir.path, {
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'info',
    RELAYGATE_QUEUE_RETRY_INITIAL: '200ms',
    RELAYGATE_QUEUE_RETRY_MAX: '1s',
  });
  const config = loadConfig({ env });
  const children: GatewayProcess[] = [];
  const list = async (): Promise<ListedMessage[]> => {
    const listed = await runCli(['queue', 'list', '--all', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    return JSON.parse(listed.stdout) as ListedMessage[];
  };
  try {
    await verifyTestDomainsIn(env);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'poison', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as { username: string; secret: string };
    const first = await spawnGateway(env);
    children.push(first);

    const damages: Record<string, BodyDamage | undefined> = {
      truncated: { truncate: 9 },
      extended: { append: Buffer.from('\r\nappended by a faulty restore\r\n') },
      missing: 'delete',
      intact: undefined,
    };
    const ids: Record<string, string> = {};
    for (const name of Object.keys(damages)) {
      const raw = `From: app@example.com\r\nTo: ${name}@example.net\r\nSubject: poison-${name}\r\n\r\n${'line of the body\r\n'.repeat(40)}`;
      ids[name] = (await submit(first.ports.smtp, credential, { from: 'app@example.com', to: [`${name}@example.net`], raw })).queueId;
    }
    await waitFor(async () => (await list()).filter((m) => m.recipients.every((r) => r.attempts > 0)).length === 4, {
      what: 'every message deferred while the smarthost is down',
      timeoutMs: 60_000,
    });
    first.child.kill('SIGTERM');
    await first.exited;

    for (const [name, damage] of Object.entries(damages)) if (damage) await damageStoredBody(config, ids[name] as string, damage);
    await plantOrphanBody(config, ORPHAN_ID);
    const before = new Map((await list()).map((m) => [m.id, m.recipients[0]?.attempts ?? 0]));
    assert.ok(sink.messages.length === 0, 'nothing got through while the smarthost was down');

    sink.behaviour.connect = undefined;
    const second = await spawnGateway(env);
    children.push(second);
    const parkedIds = [ids.truncated, ids.extended, ids.missing] as string[];
    await waitFor(async () => (await list()).filter((m) => parkedIds.includes(m.id) && m.recipients[0]?.status === 'failed').length === 3, {
      what: 'the damaged messages parked',
      timeoutMs: 60_000,
    });
    await waitFor(() => sink.messages.some((m) => m.raw.toString().includes('Subject: poison-intact')), {
      what: 'the intact message delivered',
      timeoutMs: 60_000,
    });
    const dsn = (
      await waitFor(() => sink.messages.find((m) => m.mailFrom === ''), { what: 'the DSN about the missing body', timeoutMs: 60_000 })
    ).raw.toString();

    // Another message goes through after the parking: by then a parked entry claimed in a loop would show more attempts.
    await submit(second.ports.smtp, credential, {
      from: 'app@example.com',
      to: ['later@example.net'],
      raw: 'From: app@example.com\r\nSubject: poison-later\r\n\r\nlater\r\n',
    });
    await waitFor(() => sink.messages.some((m) => m.raw.toString().includes('Subject: poison-later')), {
      what: 'the later message delivered',
      timeoutMs: 60_000,
    });

    for (const m of sink.messages)
      assert.doesNotMatch(m.raw.toString(), /Subject: poison-(truncated|extended|missing)/, 'no damaged body reaches the smarthost');
    const listed = new Map((await list()).map((m) => [m.id, m.recipients[0]]));
    for (const id of parkedIds) {
      const r = listed.get(id);
      assert.equal(r?.status, 'failed', `${id} is parked`);
      assert.equal(r?.attempts, (before.get(id) ?? 0) + 1, `${id} was attempted once after the restart`);
    }
    const truncatedReply = listed.get(ids.truncated as string)?.lastReply ?? '';
    const [, onDisk, queued] = /^body torn: (\d+) bytes on disk, (\d+) queued$/.exec(truncatedReply) ?? [];
    assert.equal(Number(queued) - Number(onDisk), 9, truncatedReply);
    assert.match(listed.get(ids.extended as string)?.lastReply ?? '', /^body torn: \d+ bytes on disk, \d+ queued$/);
    assert.equal(listed.get(ids.missing as string)?.lastReply, 'body missing from the spool');

    const table = await runCli(['queue', 'list'], env);
    assert.match(table.stdout, new RegExp(`${ids.truncated}.*failed.*body torn: ${onDisk} bytes on disk, ${queued} queued`));
    const shown = await runCli(['queue', 'show', ids.missing as string], env);
    assert.match(shown.stdout, /missing@example\.net\s+failed\s+\d+.*body missing from the spool/);
    assert.doesNotMatch(shown.stdout, /DKIM signing failed/);

    assert.match(dsn, new RegExp(`X-Relaygate-Queue-ID: ${ids.missing}`));
    assert.match(dsn, /Final-Recipient: rfc822; missing@example\.net/);
    assert.match(dsn, /Status: 5\.3\.0/);
    assert.match(dsn, /Diagnostic-Code: smtp; body missing from the spool/);
    assert.doesNotMatch(dsn, /text\/rfc822-headers|poison-missing/, 'no excerpt of a body it does not have');
    assert.equal(sink.messages.filter((m) => m.mailFrom === '').length, 1, 'a DSN only for the missing body: a torn one waits for the operator');

    const metrics = await scrape(second.ports.http);
    const parked = (reason: string) => metrics.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'parked', reason });
    assert.equal(parked('body-torn'), 2);
    assert.equal(parked('body-missing'), 1);

    const output = second.output();
    assert.match(output, new RegExp(`queue entry ${ids.truncated} parked: body torn: ${onDisk} bytes on disk, ${queued} queued`));
    assert.match(output, new RegExp(`queue entry ${ids.missing} parked: body missing from the spool`));
    assert.match(output, new RegExp(`removed spool files without an active message: ${ORPHAN_ID}`));
    t.diagnostic(`attempts before the restart: ${[...before.values()].join(', ')}`);
  } finally {
    for (const child of children) child.child.kill('SIGKILL');
    await sink.stop();
    await dir.cleanup();
  }
});
