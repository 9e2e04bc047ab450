import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { assertProblem } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { type SinkMessage, type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { send, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 120_000 };

type Credential = { id: string; username: string; secret: string };
type LegJson = { status: string; beforeDisconnect: boolean } | null;
type StatusJson = { domain: string; state: string; legs: { outbound: LegJson; inbound: LegJson }; queued: number };

/** The organisation's mail server relaying a message back to the gateway, as configured: STARTTLS + AUTH. */
const relayBack = (port: number, credential: Credential, message: SinkMessage) =>
  send(port, credential, { from: message.mailFrom, to: message.rcptTo, raw: message.raw });

interface Setup {
  gw: TestGateway;
  smarthost: SmtpSink;
  dns: TestDnsServer;
  env: NodeJS.ProcessEnv;
  token: string;
  inbound: Credential;
}

/** example.com leaves through the organisation's smarthost (a local sink), comes back through an inbound credential, and is forwarded to the helpdesk. */
async function setUp(): Promise<Setup> {
  const dns = await startDnsServer();
  const smarthost = await startSmtpSink({ tls: 'none' });
  const gw = await startTestGateway({ dnsResolver: dns.address, 'verification.timeout': '20s', 'verification.interval': 0 });
  await gw.services(async (s) => {
    await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
    await s.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port: smarthost.port, tlsMode: 'none' }, HARNESS_ACTOR);
    await s.inboundTargets.set({ domain: 'example.com', kind: 'smtp', forwardTo: 'inbox@helpdesk.example' }, HARNESS_ACTOR);
    await s.dkim.generate('example.com', HARNESS_ACTOR);
  });
  const inbound = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
  const env = gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: dns.address });
  return { gw, smarthost, dns, env, token: await gw.createApiToken('lifecycle'), inbound };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.gw.stop();
  await s?.smarthost.stop();
  await s?.dns.stop();
}

const cli = async (s: Setup, args: string[]) => runCli(args, s.env, { timeoutMs: 90_000 });
const connectionJson = async (s: Setup): Promise<StatusJson> => {
  const shown = await cli(s, ['domain', 'connection', 'example.com', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as StatusJson;
};
const kept = (s: Setup) =>
  s.gw.services(async (svc) => ({
    dkim: (await svc.dkim.show('example.com')).keys.map((k) => k.selector),
    addresses: (await svc.addresses.list({ limit: 50, offset: 0 }, { domain: 'example.com' })).items.map((a) => a.address),
    target: await svc.inboundTargets.get('example.com'),
  }));

describe('connector lifecycle: pending until proven, disconnect, refusals, reconnect', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(() => tearDown(s));

  test('before any check the connector is pending, not connected; both legs verified make it connected', SLOW_OK, async () => {
    const fresh = await connectionJson(s);
    assert.equal(fresh.state, 'pending');
    assert.deepEqual(fresh.legs, { outbound: null, inbound: null });
    const text = await cli(s, ['domain', 'connection', 'example.com']);
    assert.match(text.stdout, /connector: {4}pending, until both legs are verified \("relaygate domain verify-connection example\.com"\)/);

    await s.gw.services((svc) => svc.connector.verify('example.com', HARNESS_ACTOR));
    // One leg back is not enough.
    const [first, second] = await s.smarthost.waitForMessages(2);
    assert.ok(first && second);
    await relayBack(s.gw.gateway.ports.smtp, s.inbound, first);
    assert.equal((await connectionJson(s)).state, 'pending');
    await relayBack(s.gw.gateway.ports.smtp, s.inbound, second);
    const proven = await connectionJson(s);
    assert.equal(proven.state, 'connected');
    assert.deepEqual(
      [proven.legs.outbound, proven.legs.inbound].map((l) => [l?.status, l?.beforeDisconnect]),
      [
        ['verified', false],
        ['verified', false],
      ],
    );
  });

  test(
    'disconnect → new credentials and connections refused with the reason → reconnect keeps keys, addresses and target; a new inbound credential relays',
    SLOW_OK,
    async () => {
      const before = await kept(s);
      assert.equal(before.dkim.length, 2);
      const disconnected = await cli(s, ['domain', 'disconnect', 'example.com', '--wait', '--timeout', '60s']);
      assert.equal(disconnected.code, 0, disconnected.stderr);
      assert.match(disconnected.stdout, /example\.com is disconnected: its inbound credentials are revoked/);

      // The legs verified before are not shown as the connection now.
      const shown = await connectionJson(s);
      assert.equal(shown.state, 'disconnected');
      assert.deepEqual([shown.legs.outbound?.beforeDisconnect, shown.legs.inbound?.beforeDisconnect], [true, true]);
      const text = await cli(s, ['domain', 'connection', 'example.com']);
      assert.match(text.stdout, /outbound leg: not checked since the disconnect \(before it: verified /);
      assert.match(text.stdout, /inbound leg: {2}not checked since the disconnect \(before it: verified /);
      assert.match(text.stdout, /verified \(before the disconnect\)/);

      const refused = await cli(s, ['credential', 'create', '--kind', 'inbound', '--domain', 'example.com', '--description', 'too early']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /domain example\.com is disconnected; reconnect it first with "relaygate domain reconnect example\.com"/);
      const api = (path: string, body?: unknown) => s.gw.api(path, { method: 'POST', token: s.token, ...(body ? { body } : {}) });
      assertProblem(
        await api('/api/v1/credentials', { kind: 'inbound', domain: 'example.com', description: 'too early' }),
        409,
        'domain example.com is disconnected; reconnect it first with "relaygate domain reconnect example.com"',
        'domain',
      );
      assertProblem(
        await api('/api/v1/connections', { scopeKind: 'address', scope: 'support@example.com', host: '127.0.0.1', port: s.smarthost.port, tlsMode: 'none' }),
        409,
        /^domain example\.com is disconnected; reconnect it first/,
        'scope',
      );

      const reconnected = await cli(s, ['domain', 'reconnect', 'example.com']);
      assert.equal(reconnected.code, 0, reconnected.stderr);
      assert.match(
        reconnected.stdout,
        /example\.com is reconnected \(pending until both legs are verified again\)\. Kept: its DKIM keys, its 1 address and its inbound target\./,
      );
      assert.match(reconnected.stdout, /revoked its inbound credentials and removed its outbound connection, so it needs new ones/);
      assert.match(reconnected.stdout, /relaygate credential create --kind inbound --domain example\.com/);
      assert.equal((await connectionJson(s)).state, 'pending');
      assert.deepEqual(await kept(s), before);
      assertProblem(await api('/api/v1/domains/example.com/reconnect'), 409, 'example.com is connected; there is nothing to reconnect');

      // The old credential stays revoked; a new one authenticates and its mail reaches the kept target.
      assert.equal((await s.gw.services((svc) => svc.credentials.get(s.inbound.id))).state, 'revoked');
      const created = await cli(s, [
        'credential',
        'create',
        '--kind',
        'inbound',
        '--domain',
        'example.com',
        '--description',
        'Exchange relay, again',
        '--json',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const fresh = JSON.parse(created.stdout) as { id: string; username: string; secret: string };
      await s.gw.services((svc) =>
        svc.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port: s.smarthost.port, tlsMode: 'none' }, HARNESS_ACTOR),
      );
      const count = s.smarthost.messages.length;
      const raw =
        'From: customer@customer.example\r\nTo: support@example.com\r\nSubject: After the reconnect\r\nMessage-ID: <re@customer.example>\r\n\r\nHi\r\n';
      await submit(s.gw.gateway.ports.smtp, fresh, { from: 'customer@customer.example', to: ['support@example.com'], raw });
      const [forwarded] = (await s.smarthost.waitForMessages(count + 1)).slice(count);
      assert.deepEqual(forwarded?.rcptTo, ['inbox@helpdesk.example']);
      assert.match(forwarded?.raw.toString() ?? '', /Subject: After the reconnect/);

      const audit = await s.gw.services((svc) => svc.audit.list({ limit: 100, offset: 0 }));
      const reconnect = audit.items.find((e: { action: string }) => e.action === 'domain.reconnect') as { actor: string; targetId: string } | undefined;
      assert.equal(reconnect?.targetId, 'example.com');
    },
  );

  test('the API disconnects and reconnects the domain', SLOW_OK, async () => {
    const api = (path: string) => s.gw.api(path, { method: 'POST', token: s.token });
    const draining = await api('/api/v1/domains/example.com/connection/disconnect');
    assert.equal(draining.status, 202, draining.text);
    assert.equal((draining.body as StatusJson).state, 'draining');
    await waitFor(async () => ((await connectionJson(s)).state === 'disconnected' ? true : undefined), { timeoutMs: 30_000 });
    const back = await api('/api/v1/domains/example.com/reconnect');
    assert.equal(back.status, 200, back.text);
    assert.equal((back.body as StatusJson).state, 'pending');
  });
});

describe('connector lifecycle: --wait on a domain already draining', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(() => tearDown(s));

  test('disconnect --wait on a draining domain waits until its queue has drained and the disconnect completed', SLOW_OK, async () => {
    const submitter = await s.gw.createCredential('helpdesk');
    s.smarthost.behaviour = { data: () => '451 4.3.0 try again later' };
    const { queueId } = await submit(s.gw.gateway.ports.smtp, submitter, {
      from: 'support@example.com',
      to: ['customer@customer.example'],
      raw: 'From: support@example.com\r\nTo: customer@customer.example\r\nSubject: Queued before the disconnect\r\n\r\nHi\r\n',
    });
    const q = await s.gw.queue();
    try {
      await waitFor(async () => ((await q.show(queueId))?.recipients[0]?.status === 'deferred' ? true : undefined));
    } finally {
      await q.close();
    }
    const first = await cli(s, ['domain', 'disconnect', 'example.com']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await connectionJson(s)).state, 'draining');

    assertProblem(
      await s.gw.api('/api/v1/domains/example.com/reconnect', { method: 'POST', token: s.token }),
      409,
      'example.com is still draining; wait until it is disconnected ("relaygate domain disconnect example.com --wait"), then reconnect it',
    );
    // Without --wait a second disconnect is refused with the way to wait.
    const again = await cli(s, ['domain', 'disconnect', 'example.com']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /example\.com is already draining; wait for the disconnect with "relaygate domain disconnect example\.com --wait"/);

    // The queued mail is deferred until the command is seen waiting: it must have found the domain draining, not drained.
    let output = '';
    const waiting = runCli(['domain', 'disconnect', 'example.com', '--wait', '--timeout', '60s'], s.env, {
      timeoutMs: 90_000,
      onStdout: (chunk) => {
        output += chunk;
      },
    });
    await waitFor(async () => (output.includes('already draining; waiting for it') ? true : undefined), { timeoutMs: 30_000 });
    assert.equal((await connectionJson(s)).state, 'draining');
    s.smarthost.behaviour = {};
    const waited = await waiting;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /example\.com is already draining; waiting for it\./);
    assert.match(waited.stdout, /example\.com is disconnected: its inbound credentials are revoked and its outbound connection removed\./);
    assert.equal((await connectionJson(s)).state, 'disconnected');
  });
});

const noBrowser = browserUnavailable();

describe('connector lifecycle: reconnect from the console', needsPeer(noBrowser), () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
    await createAdmin(s.gw);
  });
  after(() => tearDown(s));

  test("a disconnected domain's page offers the reconnect; it leaves the domain pending", SLOW_OK, async () => {
    await s.gw.services((svc) => svc.connector.disconnect('example.com', HARNESS_ACTOR));
    await waitFor(async () => ((await connectionJson(s)).state === 'disconnected' ? true : undefined), { timeoutMs: 30_000 });
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      await signInConsole(page, s.gw);
      await page.goto(consoleUrl(s.gw, '/domains/example.com'));
      assert.equal(await page.locator('#legs-status strong').first().textContent(), 'disconnected');
      assert.equal(await page.getByRole('button', { name: 'Verify the connection', exact: true }).count(), 0);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Reconnect the domain', exact: true }).click()]);
      await page.getByText('The domain is reconnected, with its DKIM keys, addresses and inbound target.').waitFor();
      assert.equal(await page.locator('#legs-status strong').first().textContent(), 'pending');
      await page.getByRole('button', { name: 'Verify the connection', exact: true }).waitFor();
    } finally {
      await browser.close();
    }
    const audit = await s.gw.services((svc) => svc.audit.list({ limit: 100, offset: 0 }));
    assert.ok(audit.items.some((e: { action: string; actor: string }) => e.action === 'domain.reconnect' && e.actor.startsWith('admin:')));
  });
});
