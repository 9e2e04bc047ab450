import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { sandboxEnabled } from '../src/sandbox/sandbox.js';
import { sqlSandboxStore } from '../src/store/sandbox/index.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway } from './support/gateway.js';
import { gatewayEnv, runCli, spawnGateway } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { testDatabaseUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

type Json = Record<string, unknown>;

/** A listener that must never see a connection: it stands for an MX host the sandbox must not dial. */
async function tripwire(host: string): Promise<{ port: number; connections: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const state = {
    port: (server.address() as { port: number }).port,
    connections: 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return state;
}

describe('sandbox: nothing leaves the machine', () => {
  let sink: SmtpSink;
  let dns: TestDnsServer;
  before(async () => {
    sink = await startSmtpSink({ tls: 'none' });
    dns = await startDnsServer();
  });
  after(async () => {
    await sink?.stop();
    await dns?.stop();
  });

  test('sandbox on: the message is captured, marked, DKIM-checked and explained, and the smarthost sees no connection', async () => {
    const gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`, dnsResolver: dns.address, sandbox: true });
    try {
      const generated = await gw.services((s) => s.dkim.generate('example.com', HARNESS_ACTOR));
      for (const key of generated.keys) dns.set(key.record.name, { txt: [key.record.value] });
      await gw.services((s) => s.dkim.check('example.com', HARNESS_ACTOR));
      const token = await gw.createApiToken();
      const credential = await gw.createCredential();
      const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
        from: 'support@example.com',
        to: ['customer@example.net'],
        raw: applicationMessage('sandboxed'),
      });
      const listed = await waitFor(async () => {
        const page = (await gw.api('/api/v1/sandbox/messages', { token })).body as { items: Json[] };
        return page.items.length === 1 ? page.items : undefined;
      });
      const [captured] = listed;
      assert.ok(captured);
      assert.equal(captured.queueId, queueId);
      assert.equal(captured.kind, 'smtp');
      assert.equal(captured.subject, 'sandboxed');
      assert.deepEqual(captured.recipients, ['customer@example.net']);
      const decision = captured.decision as Json;
      assert.equal(decision.route, 'relay (the default route)');
      assert.equal(decision.nextHop, `smarthost smtp://127.0.0.1:${sink.port}?tls=none`);
      assert.equal(decision.tls, 'plaintext (tls=none)');
      assert.deepEqual(
        (captured.dkim as Json[]).map((d) => [d.domain, d.result]),
        [
          ['example.com', 'pass'],
          ['example.com', 'pass'],
        ],
      );
      const raw = await gw.api(`/api/v1/sandbox/messages/${captured.id as string}/raw`, { token });
      assert.equal(raw.headers.get('content-type'), 'message/rfc822');
      assert.match(raw.text, /^X-Relaygate-Sandbox: captured \S+; nothing was sent \(smarthost /);
      assert.match(raw.text, /\r\nDKIM-Signature: v=1; a=rsa-sha256;/);
      const q = await gw.queue();
      try {
        const shown = await q.show(queueId);
        assert.equal(shown?.recipients[0]?.status, 'delivered');
        assert.match(shown?.recipients[0]?.lastReply ?? '', /captured in the sandbox as sbx_\w+; nothing was sent/);
      } finally {
        await q.close();
      }
      assert.equal(sink.connections, 0, 'the smarthost was dialled');
      assert.deepEqual((await gw.api('/api/v1/sandbox/messages/sbx_nothing', { token })).status, 404);
      assert.deepEqual((await gw.api('/api/v1/sandbox/messages', { method: 'DELETE', token })).body, { removed: 1 });
    } finally {
      await gw.stop();
    }
  });

  test('sandbox off: the same message is delivered to the smarthost', async () => {
    const gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none` });
    try {
      const credential = await gw.createCredential();
      await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.com', to: ['customer@example.net'], raw: applicationMessage('sandboxed') });
      const [delivered] = await sink.waitForMessages(1);
      assert.match(delivered?.raw.toString() ?? '', /Subject: sandboxed/);
      assert.doesNotMatch(delivered?.raw.toString() ?? '', /X-Relaygate-Sandbox/);
    } finally {
      await gw.stop();
    }
  });

  test('direct MX delivery in the sandbox: captured with the MX decision, and the MX host is never dialled', async () => {
    const mx = await tripwire('127.0.0.1');
    dns.set('mx.example.net', { a: ['127.0.0.1'] });
    dns.set('example.net', { mx: [{ exchange: 'mx.example.net', priority: 10 }] });
    const gw = await startTestGateway({ 'delivery.direct': true, 'delivery.mxPort': mx.port, dnsResolver: dns.address, sandbox: true });
    try {
      const credential = await gw.createCredential();
      await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.com', to: ['customer@example.net'], raw: applicationMessage('no mx dial') });
      const [captured] = await waitFor(async () => {
        const page = await gw.services((s) => s.sandbox.list({ limit: 10, offset: 0 }));
        return page.items.length === 1 ? page.items : undefined;
      });
      assert.equal(captured?.decision.nextHop, 'direct MX delivery to example.net');
      assert.match(captured?.decision.tls ?? '', /^example\.net: DANE or MTA-STS as the domain publishes them, else opportunistic STARTTLS/);
      assert.equal(mx.connections, 0, 'the MX host was dialled');
    } finally {
      await gw.stop();
      await mx.stop();
    }
  });

  test('the inbound leg: `sandbox inject` relays a message as the organisation would; with no target the built-in endpoint captures the webhook', async () => {
    const gw = await startTestGateway({ sandbox: true, 'queue.retryInitial': '100ms' });
    try {
      await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
      const inbound = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
      const dir = await tempDir('relaygate-inject-');
      const file = join(dir.path, 'message.eml');
      await writeFile(file, 'From: Customer <customer@example.net>\nTo: support@example.com\nSubject: Where is my order?\n\nIt has been a week.\n');
      const env = gatewayEnv(gw.dataDir);
      const refused = await runCli(['sandbox', 'inject', '--to', 'nobody@example.org', file], env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /nobody@example\.org is not an address of a verified domain here/);
      const injected = await runCli(['sandbox', 'inject', '--to', 'support@example.com', '--from', 'customer@example.net', file, '--json'], env);
      assert.equal(injected.code, 0, injected.stderr);
      const { id } = JSON.parse(injected.stdout) as { id: string };
      const [captured] = await waitFor(async () => {
        const page = await gw.services((s) => s.sandbox.list({ limit: 10, offset: 0 }));
        return page.items.length === 1 ? page.items : undefined;
      });
      assert.equal(captured?.kind, 'webhook');
      assert.equal(captured?.queueId, id);
      assert.equal(captured?.decision.nextHop, 'the built-in capture endpoint (no inbound target is set)');
      const request = JSON.parse((await gw.services((s) => s.sandbox.raw(captured?.id ?? ''))).toString()) as { headers: Json; payload: Json };
      assert.match(String(request.headers['webhook-signature']), /^v1,/);
      assert.equal(request.payload.subject, 'Where is my order?');
      assert.equal(request.payload.authenticated, true);
      assert.equal((request.payload.relay as Json).credentialId, inbound.id);

      const shown = await runCli(['sandbox', 'show', captured?.id ?? '', '--json'], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal((JSON.parse(shown.stdout) as Json).kind, 'webhook');
      const cleared = await runCli(['sandbox', 'clear', '--json'], env);
      assert.deepEqual(JSON.parse(cleared.stdout), { removed: 1 });
    } finally {
      await gw.stop();
    }
  });

  test('verification completes inside the sandbox: both legs come back as the organisation would relay them', async () => {
    const gw = await startTestGateway({ sandbox: true, 'verification.timeout': '10s', 'verification.interval': 0 });
    try {
      await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
      await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
      await gw.services((s) => s.connector.verify('example.com', HARNESS_ACTOR));
      const legs = await waitFor(async () => {
        const status = await gw.services((s) => s.connector.status('example.com'));
        return status.legs.outbound?.status === 'verified' && status.legs.inbound?.status === 'verified' ? status.legs : undefined;
      });
      assert.equal(legs.inbound?.status, 'verified');
      const captured = await gw.services((s) => s.sandbox.list({ limit: 10, offset: 0 }));
      assert.equal(captured.items.length, 2, 'both verification mails are in the sandbox mailbox');
    } finally {
      await gw.stop();
    }
  });

  test('auto: on while no smarthost and no outbound connection is configured; `sandbox: true` in the file turns it on regardless', async () => {
    const dir = await tempDir('relaygate-auto-');
    const databaseUrl = testDatabaseUrl(dir.path);
    const overrides = { dataDir: dir.path, ...(databaseUrl ? { databaseUrl } : {}) };
    const config = loadConfig({ env: {}, overrides });
    const store = await openStore(config);
    try {
      assert.equal(config.sandbox, 'auto');
      assert.equal(await sandboxEnabled(config, sqlSandboxStore(store.db)), true);
      assert.equal(await sandboxEnabled({ ...config, sandbox: false }, sqlSandboxStore(store.db)), false);
      const smarthost = 'smtp://127.0.0.1:2525?tls=none';
      const withSmarthost = loadConfig({ env: { RELAYGATE_SMARTHOST: smarthost }, overrides });
      assert.equal(await sandboxEnabled(withSmarthost, sqlSandboxStore(store.db)), false);
      const file = join(dir.path, 'relaygate.yaml');
      await writeFile(file, `sandbox: true\nsmarthost: "${smarthost}"\n`);
      assert.equal(await sandboxEnabled(loadConfig({ file, env: {}, overrides }), sqlSandboxStore(store.db)), true);
    } finally {
      await store.close();
    }
  });

  test("the README's first command, with no smarthost: the banner says SANDBOX loudly and shows how to send a first message", async () => {
    const dir = await tempDir('relaygate-first-run-');
    const env = gatewayEnv(dir.path);
    delete env.RELAYGATE_SANDBOX;
    const gateway = await spawnGateway(env);
    try {
      const banner = await waitFor(() => (/swaks --server/.test(gateway.output()) ? gateway.output() : undefined), { what: 'the start banner' });
      assert.match(banner, /SANDBOX MODE: NOTHING LEAVES THIS MACHINE/);
      assert.match(banner, new RegExp(`swaks --server 127\\.0\\.0\\.1:${gateway.ports.smtp} --tls`));
      assert.match(banner, /relaygate sandbox list/);
      assert.match(banner, /\n {2}Outgoing mail goes +nowhere: SANDBOX MODE, every outgoing mail is captured in the sandbox mailbox/);
      assert.match(banner, new RegExp(`sign in at http://127\\.0\\.0\\.1:${gateway.ports.http}/console\\n`), 'the console, in the sandbox too');
      assert.doesNotMatch(banner, /--tls-verify/, "Debian 12's swaks has no --tls-verify=no");
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
  });
});

describe('sandbox in the console', needsPeer(browserUnavailable()), () => {
  test('the sandbox page says the mode loudly, lists what was captured and shows the decision, DKIM result and raw message', async () => {
    const gw = await startTestGateway({ sandbox: true });
    const browser = await launchBrowser();
    try {
      await createAdmin(gw);
      const credential = await gw.createCredential();
      const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
        from: 'support@example.com',
        to: ['customer@example.net'],
        raw: applicationMessage('seen in the console'),
      });
      await waitFor(async () => ((await gw.services((s) => s.sandbox.list({ limit: 1, offset: 0 }))).total === 1 ? true : undefined));
      const page = await browser.newPage();
      await signInConsole(page, gw);
      await page.goto(consoleUrl(gw, '/sandbox'));
      await page.getByText('Sandbox mode:').waitFor();
      await consoleScreenshot(page, 'sandbox-list');
      await page
        .getByRole('row', { name: /seen in the console/ })
        .getByRole('link')
        .click();
      await page.getByRole('heading', { name: /^Captured sbx_/ }).waitFor();
      const text = await page.locator('main').innerText();
      assert.match(text, new RegExp(`Queue id\\s+${queueId}`));
      assert.match(text, /Would have gone to\s+no smarthost or direct delivery configured/);
      assert.match(text, /X-Relaygate-Sandbox: captured/);
      assert.match(text, /DKIM\s+no signature/, 'an unsigned message is said to be unsigned, not failed');
      await consoleScreenshot(page, 'sandbox-message');
      await page.goto(consoleUrl(gw, '/sandbox'));
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Empty the sandbox mailbox' }).click()]);
      await page.getByText('Removed 1 captured message(s).').waitFor();
    } finally {
      await browser.close();
      await gw.stop();
    }
  });
});
