/**
 * Loops (issue 18, point 3): a message with more Received fields than smtp.maxReceived is
 * refused 554 5.4.6 on every path, and a verification mail that the organisation's server
 * relays back with the application's submission credential is consumed, not relayed round
 * again, its inbound leg failed with the reason. Real sockets and TLS, whole replies; the
 * last case runs Debian's Postfix as the misconfigured mail server.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { type PostfixRelay, postfixUnavailable, startPostfixRelay } from './support/postfix.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { send } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 90_000 };
type Credential = Awaited<ReturnType<TestGateway['createCredential']>>;

const LOOP_51 = '554 5.4.6 Too many Received header fields (51 > 50): mail loop? (RFC 5321 section 6.3)';
const QUEUED = /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/;
const NOT_OWN = (credentialId: string) =>
  `the inbound verification mail came back authenticated as ${credentialId}, which is not an inbound credential of this domain; ` +
  `it is a submission credential (the application's), so your mail server relays with the wrong one: give it an inbound credential of example.com ("relaygate credential create --kind inbound --domain example.com")`;

const received = (n: number) =>
  Array.from({ length: n }, (_, i) => `Received: from hop${i}.example.net by hop${i + 1}.example.net; Sun, 6 Dec 2026 22:00:00 +0000`);

async function authenticated(gw: TestGateway, credential: Credential): Promise<SmtpDialog> {
  const { dialog } = await openDialog(gw.gateway.ports.smtp);
  await dialog.ehlo('mail.example.com');
  await dialog.startTls();
  await dialog.ehlo('mail.example.com');
  assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
  return dialog;
}

/** One transaction on an authenticated session: the reply to the end of data. */
async function transaction(dialog: SmtpDialog, from: string, to: string, headers: string[]): Promise<string> {
  assert.equal(await dialog.send(`MAIL FROM:<${from}>`), '250 2.1.0 Accepted');
  assert.equal(await dialog.send(`RCPT TO:<${to}>`), '250 2.1.5 Accepted');
  assert.equal(await dialog.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  dialog.write(`${[...headers, `From: <${from}>`, `To: <${to}>`, 'Subject: hops'].join('\r\n')}\r\n\r\nHello.\r\n`);
  return dialog.send('.');
}

describe('smtp.maxReceived: more Received fields than the limit are a loop', () => {
  let gw: TestGateway;
  let submission: Credential;
  let inbound: Credential;
  before(async () => {
    gw = await startTestGateway({ smarthost: 'smtp://127.0.0.1:9?tls=none' });
    await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
    submission = await gw.createCredential('application');
    inbound = await gw.createCredential('relay', { kind: 'inbound', domain: 'example.com' });
  });
  after(() => gw.stop());

  test('submission: 51 Received fields get 554 5.4.6 at the end of DATA, 50 are accepted', SLOW_OK, async () => {
    const dialog = await authenticated(gw, submission);
    try {
      assert.equal(await transaction(dialog, 'app@example.com', 'customer@example.net', received(51)), LOOP_51);
      assert.match(await transaction(dialog, 'app@example.com', 'customer@example.net', received(50)), QUEUED);
      // Field names are case-insensitive (RFC 5322 §1.2.2), folded values count once.
      const mixed = [...received(50).map((f, i) => (i % 2 ? f.toUpperCase() : f)), 'received:\r\n\tfrom folded.example.net; Sun, 6 Dec 2026 22:00:00 +0000'];
      assert.equal(await transaction(dialog, 'app@example.com', 'customer@example.net', mixed), LOOP_51);
    } finally {
      dialog.close();
    }
  });

  test('inbound relay: 51 Received fields get 554 5.4.6, nothing reaches the queue', SLOW_OK, async () => {
    const queue = await gw.queue();
    try {
      const before = (await queue.list({ includeCompleted: true, limit: 1000 })).filter((m) => m.direction === 'inbound').length;
      const dialog = await authenticated(gw, inbound);
      try {
        assert.equal(await transaction(dialog, 'customer@customer.example', 'support@example.com', received(51)), LOOP_51);
      } finally {
        dialog.close();
      }
      const after = (await queue.list({ includeCompleted: true, limit: 1000 })).filter((m) => m.direction === 'inbound').length;
      assert.equal(after, before);
    } finally {
      await queue.close();
    }
  });
});

describe('a verification mail relayed back with the submission credential', () => {
  let gw: TestGateway;
  let smarthost: SmtpSink;
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer();
    smarthost = await startSmtpSink({ tls: 'none' });
    gw = await startTestGateway({ dnsResolver: dns.address, 'verification.timeout': '10m', 'verification.interval': 0 });
    await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      await s.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port: smarthost.port, tlsMode: 'none' }, HARNESS_ACTOR);
    });
    await gw.createCredential('relay', { kind: 'inbound', domain: 'example.com' });
  });
  after(async () => {
    await gw.stop();
    await smarthost.stop();
    await dns.stop();
  });

  test('is consumed with 250, not relayed again; the inbound leg fails at once with the reason, shown by domain connection', SLOW_OK, async () => {
    const application = await gw.createCredential('helpdesk');
    await gw.services((s) => s.connector.verify('example.com', HARNESS_ACTOR));
    const mails = await smarthost.waitForMessages(2);
    for (const mail of mails) {
      assert.match(mail.raw.toString(), /^X-Relaygate-Verification: chk_[0-9a-z]+\.[A-Za-z0-9_-]{43}\r$/m);
      const reply = await send(gw.gateway.ports.smtp, application, { from: mail.mailFrom, to: mail.rcptTo, raw: mail.raw });
      assert.equal(reply, '250 2.0.0 Ok: verification received');
    }
    const status = await gw.services((s) => s.connector.status('example.com'));
    assert.equal(status.legs.outbound?.status, 'verified');
    assert.equal(status.legs.inbound?.status, 'failed');
    assert.equal(status.legs.inbound?.reason, NOT_OWN(application.id));
    // Nothing new was queued to go out: only the two verification mails ever were.
    const queue = await gw.queue();
    try {
      assert.equal((await queue.list({ includeCompleted: true, limit: 100 })).length, 2);
    } finally {
      await queue.close();
    }
    assert.equal(smarthost.messages.length, 2);
    const cli = await runCli(['domain', 'connection', 'example.com'], gatewayEnv(gw.dataDir));
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(cli.stdout.includes(`inbound leg:  failed`), cli.stdout);
    assert.ok(cli.stdout.includes(`came back authenticated as ${application.id}, which is not an inbound credential of this domain`), cli.stdout);
  });

  test('a forged marker is relayed like any other mail', SLOW_OK, async () => {
    const application = await gw.createCredential('helpdesk 2');
    const before = smarthost.messages.length;
    const raw =
      'From: <support@example.com>\r\nTo: <customer@example.net>\r\nSubject: forged\r\nX-Relaygate-Verification: chk_forged.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\nx\r\n';
    assert.match(await send(gw.gateway.ports.smtp, application, { from: 'support@example.com', to: ['customer@example.net'], raw }), QUEUED);
    await smarthost.waitForMessages(before + 1);
  });
});

const POSTFIX_MISSING = postfixUnavailable();

describe('Postfix as the organisation mail server, relaying with the submission credential', () => {
  let gw: TestGateway | undefined;
  let postfix: PostfixRelay | undefined;
  let dns: TestDnsServer | undefined;
  let dir: TempDir | undefined;
  let postfixDir: TempDir | undefined;
  let application: Credential | undefined;

  before(async () => {
    if (POSTFIX_MISSING) return;
    dir = await tempDir('relaygate-loop-');
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['localhost']);
    const [certFile, keyFile] = ['cert.pem', 'key.pem'].map((f) => join(dir?.path ?? '', f)) as [string, string];
    await Promise.all([writeFile(certFile, leaf.chain), writeFile(keyFile, leaf.key)]);
    dns = await startDnsServer();
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'tls.certFile': certFile,
      'tls.keyFile': keyFile,
      'verification.timeout': '10m',
      'verification.interval': 0,
    });
    await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
    await gw.createCredential('relay', { kind: 'inbound', domain: 'example.com' });
    application = await gw.createCredential('helpdesk');
    postfixDir = await tempDir('relaygate-loop-postfix-');
    // The copy-paste mistake: the relay is given the application's credential.
    postfix = await startPostfixRelay({
      relayHost: '127.0.0.1',
      relayPort: gw.gateway.ports.smtp,
      username: application.username,
      password: application.secret,
      caCertPem: ca.caCert,
      dir: postfixDir.path,
    });
    const port = postfix.port;
    await gw.services((s) => s.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port, tlsMode: 'none' }, HARNESS_ACTOR));
  });

  after(async () => {
    await postfix?.stop();
    await gw?.stop();
    await dns?.stop();
    await dir?.cleanup();
    await postfixDir?.cleanup();
  });

  test('the verification mails go out, come back once, and stop: one extra hop each', { ...needsPeer(POSTFIX_MISSING), timeout: 120_000 }, async () => {
    if (!gw || !postfix || !application) throw new Error('set-up failed');
    const gateway = gw;
    await gateway.services((s) => s.connector.verify('example.com', HARNESS_ACTOR));
    const status = await waitFor(
      async () => {
        const s = await gateway.services((svc) => svc.connector.status('example.com'));
        return s.legs.inbound?.status !== 'pending' && s.legs.outbound?.status !== 'pending' ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'both legs decided' },
    );
    assert.equal(status.legs.inbound?.status, 'failed');
    assert.equal(status.legs.inbound?.reason, NOT_OWN(application.id));
    const relay = postfix;
    await waitFor(() => relay.queueEmpty(), { what: "Postfix's queue to empty" });
    // Each mail entered Postfix once (from the gateway) and left it once (back to the gateway).
    const log = postfix.maillog();
    assert.equal((log.match(/ postfix\/smtpd\[\d+\]: [0-9A-F]+: client=/g) ?? []).length, 2, log);
    assert.equal(
      (log.match(/ postfix\/smtp\[\d+\]: [0-9A-F]+: to=<support@example\.com>.* status=sent \(250 2\.0\.0 Ok: verification received\)/g) ?? []).length,
      2,
      log,
    );
    const queue = await gateway.queue();
    try {
      assert.equal((await queue.list({ includeCompleted: true, limit: 100 })).length, 2, 'only the two verification mails were ever queued');
    } finally {
      await queue.close();
    }
  });
});
