import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const CLIENTS = 8;

// The promise of 250: a gateway killed with SIGKILL in the middle of accepting and
// delivering loses no message it answered 250 for; restarted, it delivers all of them.
// Deliveries in flight at the kill may arrive twice (at-least-once); they are counted.
test('kill -9 under load loses no accepted message; the restarted gateway delivers them all', async (t) => {
  const dir = await tempDir('relaygate-kill-');
  const sink = await startSmtpSink({ tls: 'none' });
  const env = gatewayEnv(dir.path, {
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'warn',
    RELAYGATE_QUEUE_RETRY_INITIAL: '200ms',
  });
  let gateway: GatewayProcess | undefined;
  try {
    await verifyTestDomainsIn(env);
    const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'load', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const credential = JSON.parse(created.stdout) as { username: string; secret: string };
    gateway = await spawnGateway(env);
    const first = gateway;

    const accepted = new Set<string>();
    let attempted = 0;
    let killed = false;
    const client = async () => {
      while (!killed) {
        const tag = `m${attempted++}`;
        try {
          await submit(first.ports.smtp, credential, {
            from: 'load@example.com',
            to: [`${tag}@example.net`],
            raw: `From: load@example.com\r\nSubject: ${tag}\r\nX-Tag: ${tag}\r\n\r\nbody of ${tag}\r\n`,
          });
          accepted.add(tag);
        } catch {
          // Refused or cut off by the kill: the client still holds the message, nothing was promised.
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    // Kill once the gateway has both accepted and delivered some, so the kill lands mid-flow.
    await waitFor(() => accepted.size >= 60 && sink.messages.length >= 20, { what: 'load to build up', timeoutMs: 60_000 });
    first.child.kill('SIGKILL');
    killed = true;
    assert.equal(await first.exited, 'SIGKILL');
    await Promise.all(clients);
    const deliveredBeforeKill = sink.messages.length;

    gateway = await spawnGateway(env);
    const tags = (messages: typeof sink.messages) => messages.map((m) => /X-Tag: (m\d+)/.exec(m.raw.toString())?.[1] ?? '?');
    await waitFor(
      () => {
        const seen = new Set(tags(sink.messages));
        return [...accepted].every((tag) => seen.has(tag));
      },
      { what: 'every accepted message at the sink', timeoutMs: 60_000 },
    );
    const counts = new Map<string, number>();
    for (const tag of tags(sink.messages)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const unpromised = [...counts.keys()].filter((tag) => !accepted.has(tag)).length;
    t.diagnostic(
      `attempted ${attempted}, accepted ${accepted.size}, delivered before kill ${deliveredBeforeKill}, delivered in all ${sink.messages.length}, duplicates ${duplicates}, delivered without a 250 seen by the client ${unpromised}`,
    );
    // Only deliveries in flight at the kill can repeat: at most one batch per delivery slot.
    assert.ok(duplicates <= 16, `${duplicates} duplicates`);
  } finally {
    gateway?.child.kill('SIGKILL');
    await sink.stop();
    await dir.cleanup();
  }
});
