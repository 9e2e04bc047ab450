import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { openDialog } from './support/smtp-dialog.js';
import { type SinkMessage, type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { send, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 90_000 };

type Credential = { id: string; username: string; secret: string };

/** The organisation's mail server relaying a message back to the gateway, as configured: STARTTLS + AUTH. */
const relayBack = (port: number, credential: Credential, message: SinkMessage) =>
  send(port, credential, { from: message.mailFrom, to: message.rcptTo, raw: message.raw });

interface Setup {
  gw: TestGateway;
  smarthost: SmtpSink;
  dns: TestDnsServer;
  inbound: Credential;
}

/** A gateway whose example.com leaves through the organisation's smarthost (a local sink) and comes back through an inbound credential. */
async function setUp(settings: Record<string, unknown>): Promise<Setup> {
  const dns = await startDnsServer();
  const smarthost = await startSmtpSink({ tls: 'none' });
  const gw = await startTestGateway({ dnsResolver: dns.address, ...settings });
  await gw.services(async (s) => {
    await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
    await s.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port: smarthost.port, tlsMode: 'none' }, HARNESS_ACTOR);
  });
  const inbound = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
  return { gw, smarthost, dns, inbound };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.gw.stop();
  await s?.smarthost.stop();
  await s?.dns.stop();
}

const legsOf = async (gw: TestGateway) => {
  const status = await gw.services((s) => s.connector.status('example.com'));
  return { outbound: status.legs.outbound, inbound: status.legs.inbound, state: status.state };
};

describe('connector: verification of both legs, forward, disconnect', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ 'verification.timeout': '3s', 'verification.interval': 0 });
  });
  after(() => tearDown(s));

  test('verify-connection: both mails go out through the smarthost; each leg is verified when its token comes back', SLOW_OK, async () => {
    const started = await s.gw.services((svc) => svc.connector.verify('example.com', HARNESS_ACTOR));
    assert.equal(started.legs.outbound?.status, 'pending');
    assert.equal(started.legs.inbound?.status, 'pending');
    const mails = await s.smarthost.waitForMessages(2);
    for (const mail of mails) {
      assert.deepEqual(mail.rcptTo, ['support@example.com']);
      assert.match(mail.raw.toString(), /^X-Relaygate-Verification: chk_[0-9a-z]+\.[A-Za-z0-9_-]{43}\r$/m);
      assert.match(mail.raw.toString(), /^Auto-Submitted: auto-generated\r$/m);
      assert.equal(await relayBack(s.gw.gateway.ports.smtp, s.inbound, mail), '250 2.0.0 Ok: verification received');
    }
    const legs = await legsOf(s.gw);
    assert.equal(legs.outbound?.status, 'verified');
    assert.equal(legs.inbound?.status, 'verified');
    // Consumed, not handed to the application: nothing inbound was queued.
    const q = await s.gw.queue();
    try {
      assert.ok(!(await q.list({ includeCompleted: true, limit: 50 })).some((m) => m.direction === 'inbound'));
    } finally {
      await q.close();
    }
  });

  test('a leg whose token does not come back fails with the reason after the timeout, and can be retried', SLOW_OK, async () => {
    const before = s.smarthost.messages.length;
    await s.gw.services((svc) => svc.connector.verify('example.com', HARNESS_ACTOR));
    await s.smarthost.waitForMessages(before + 2);
    const failed = await waitFor(async () => {
      const legs = await legsOf(s.gw);
      return legs.outbound?.status === 'failed' && legs.inbound?.status === 'failed' ? legs : undefined;
    });
    assert.equal(failed.outbound?.reason, 'the token did not come back through the inbound relay within 3 s');
    assert.equal(failed.inbound?.reason, "the token did not come back through the mail server's authenticated relay within 3 s");

    await s.gw.services((svc) => svc.connector.verify('example.com', HARNESS_ACTOR));
    const mails = (await s.smarthost.waitForMessages(before + 4)).slice(before + 2);
    for (const mail of mails) await relayBack(s.gw.gateway.ports.smtp, s.inbound, mail);
    const legs = await legsOf(s.gw);
    assert.deepEqual([legs.outbound?.status, legs.inbound?.status], ['verified', 'verified']);
    const history = await s.gw.services((svc) => svc.connector.history('example.com', 10));
    assert.deepEqual(
      history.map((c) => c.status),
      ['verified', 'verified', 'failed', 'failed', 'verified', 'verified'],
    );
  });

  test('an SMTP forward target: inbound mail leaves through the domain connection to the application address, marked', SLOW_OK, async () => {
    await s.gw.services((svc) => svc.inboundTargets.set({ kind: 'smtp', forwardTo: 'inbox@helpdesk.example' }, HARNESS_ACTOR));
    const before = s.smarthost.messages.length;
    const raw = 'From: customer@customer.example\r\nTo: support@example.com\r\nSubject: Forward me\r\nMessage-ID: <fwd@customer.example>\r\n\r\nHi\r\n';
    await submit(s.gw.gateway.ports.smtp, s.inbound, { from: 'customer@customer.example', to: ['support@example.com'], raw });
    const [forwarded] = (await s.smarthost.waitForMessages(before + 1)).slice(before);
    assert.deepEqual(forwarded?.rcptTo, ['inbox@helpdesk.example']);
    assert.equal(forwarded?.mailFrom, 'customer@customer.example');
    const text = forwarded?.raw.toString() ?? '';
    assert.match(text, /^Authentication-Results: gateway\.test;\r\n auth=pass/);
    assert.match(text, /Subject: Forward me/);
  });

  test('disconnect drains: new mail refused, queued mail still delivered, then credentials revoked and audited', SLOW_OK, async () => {
    const submitter = await s.gw.createCredential('helpdesk');
    s.smarthost.behaviour = { data: () => '451 4.3.0 try again later' };
    const { queueId } = await submit(s.gw.gateway.ports.smtp, submitter, {
      // The envelope keeps its case: the queued mail counts for example.com all the same.
      from: 'Support@Example.COM',
      to: ['customer@customer.example'],
      raw: 'From: support@example.com\r\nTo: customer@customer.example\r\nSubject: Queued before the disconnect\r\n\r\nHi\r\n',
    });
    const q = await s.gw.queue();
    try {
      await waitFor(async () => ((await q.show(queueId))?.recipients[0]?.status === 'deferred' ? true : undefined));
      const draining = await s.gw.services((svc) => svc.connector.disconnect('example.com', HARNESS_ACTOR));
      assert.equal(draining.state, 'draining');
      assert.equal(draining.queued, 1);

      // No new outbound mail from the domain, no new authenticated inbound mail for it.
      await assert.rejects(
        submit(s.gw.gateway.ports.smtp, submitter, { from: 'support@example.com', to: ['x@customer.example'], raw: 'From: support@example.com\r\n\r\nx\r\n' }),
        /550 5\.7\.1 Sender address <support@example\.com> not allowed: its domain is disconnected/,
      );
      const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
      await dialog.ehlo('mail.example.com');
      await dialog.startTls();
      await dialog.ehlo('mail.example.com');
      await dialog.authPlain(s.inbound.username, s.inbound.secret);
      assert.equal(
        await dialog.send('MAIL FROM:<customer@customer.example>'),
        '450 4.7.1 Domain example.com is being disconnected from this gateway; no new mail is taken for it',
      );
      dialog.close();

      // The queued message still leaves; then the disconnect completes.
      s.smarthost.behaviour = {};
      await waitFor(async () => ((await q.show(queueId))?.recipients[0]?.status === 'delivered' ? true : undefined), { timeoutMs: 30_000 });
      await waitFor(async () => ((await legsOf(s.gw)).state === 'disconnected' ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await q.close();
    }
    const credential = await s.gw.services((svc) => svc.credentials.get(s.inbound.id));
    assert.equal(credential.state, 'revoked');
    const connections = await s.gw.services((svc) => svc.connections.list({ limit: 10, offset: 0 }));
    assert.equal(connections.total, 0);
    const audit = await s.gw.services((svc) => svc.audit.list({ limit: 100, offset: 0 }));
    const actions = audit.items.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('domain.disconnect'));
    assert.ok(actions.includes('domain.disconnected'));
    const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
    await dialog.ehlo('mail.example.com');
    await dialog.startTls();
    await dialog.ehlo('mail.example.com');
    assert.equal(await dialog.authPlain(s.inbound.username, s.inbound.secret), '535 5.7.8 Authentication credentials invalid');
    dialog.close();
  });
});

describe('connector: scheduled health check', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ 'verification.timeout': '2s', 'verification.interval': '1s' });
  });
  after(() => tearDown(s));

  test('after setup the round trip repeats on the schedule; a failed check shows in history, log and metrics', SLOW_OK, async () => {
    await s.gw.services((svc) => svc.connector.verify('example.com', HARNESS_ACTOR));
    for (const mail of await s.smarthost.waitForMessages(2)) await relayBack(s.gw.gateway.ports.smtp, s.inbound, mail);
    // Nobody relays the scheduled mails back: the scheduled check fails at its timeout.
    const scheduled = await waitFor(
      async () => {
        const history = await s.gw.services((svc) => svc.connector.history('example.com', 20));
        return history.find((c) => c.trigger === 'scheduled' && c.status === 'failed');
      },
      { timeoutMs: 30_000 },
    );
    assert.match(scheduled.reason ?? '', /did not come back/);
    assert.ok(s.gw.logs.some((line) => line.includes('"event":"connection.check.failed"') && line.includes('"trigger":"scheduled"')));
    const metrics = await (await fetch(`http://127.0.0.1:${s.gw.gateway.ports.http}/metrics`)).text();
    assert.match(metrics, /relaygate_connection_checks_total\{domain="example\.com",leg="(outbound|inbound)",result="failed"\} [1-9]/);
    assert.match(metrics, /relaygate_connection_leg_up\{domain="example\.com",leg="inbound"\} 0/);
  });
});
