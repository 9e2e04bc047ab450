import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DNSResolver, dkimVerify } from 'mailauth';
import { configuredResolver } from '../src/dns/index.js';
import { nodeStyleResolver } from '../src/dns/mailauth-resolver.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { portalLinkIn, routeSecure, SECURE_SENDER } from './support/secure.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { storedBody } from './support/stored-bodies.js';
import { submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SECRET_LINE = 'Your lab results: glucose 5.4 mmol/l';

function secureMessage(subject: string): string {
  return [
    `From: "Care Team" <${SECURE_SENDER}>`,
    'To: patient@example.net',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@secure.example.com>`,
    '',
    SECRET_LINE,
    '',
  ].join('\r\n');
}

describe('secure messages: encryption at rest, notification, non-delivery report', () => {
  let sink: SmtpSink;
  let dns: TestDnsServer;
  let hook: WebhookReceiver;
  let gw: TestGateway;

  before(async () => {
    sink = await startSmtpSink({ tls: 'none' });
    dns = await startDnsServer();
    hook = await startWebhookReceiver();
    const dir = await tempDir('relaygate-secure-');
    const caFile = join(dir.path, 'webhook-ca.pem');
    await writeFile(caFile, hook.caCert);
    gw = await startTestGateway({
      smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`,
      dnsResolver: dns.address,
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': caFile,
    });
    await routeSecure(gw);
    const { secret } = await gw.services((s) => s.inboundTargets.set({ kind: 'webhook', url: hook.url }, HARNESS_ACTOR));
    hook.secret = secret ?? '';
    const generated = await gw.services((s) => s.dkim.generate('secure.example.com', HARNESS_ACTOR));
    for (const key of generated.keys) dns.set(key.record.name, { txt: [key.record.value] });
    await gw.services((s) => s.dkim.check('secure.example.com', HARNESS_ACTOR));
  });
  after(async () => {
    await gw?.stop();
    await sink?.stop();
    await hook?.stop();
    await dns?.stop();
  });

  it('stores only ciphertext and sends each recipient a DKIM-signed notification with its own link and no content', async () => {
    const credential = await gw.createCredential();
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: SECURE_SENDER,
      to: ['patient@example.net', 'carer@example.org'],
      raw: secureMessage('Results of 12 March'),
    });
    const stored = await storedBody(gw.config, queueId);
    assert.ok(stored, 'the body is stored');
    assert.ok(!stored.includes(SECRET_LINE), 'the stored body holds plaintext');
    assert.ok(!stored.includes('Results of 12 March'), 'the stored body holds the subject in the clear');
    const row = await gw.db((db) => db.selectFrom('secure_messages').selectAll().where('id', '=', queueId).executeTakeFirstOrThrow());
    assert.match(row.data_key_sealed ?? '', /^v\d\./, 'the data key is stored sealed by the key-encryption key');
    const queued = await gw.db((db) => db.selectFrom('messages').select('direction').where('id', '=', queueId).executeTakeFirstOrThrow());
    assert.equal(queued.direction, 'secure');

    const notifications = await sink.waitForMessages(2);
    const links = new Set<string>();
    for (const m of notifications) {
      assert.ok(!m.raw.includes(SECRET_LINE), 'a notification carries message content');
      assert.match(m.raw.toString(), /Subject: Results of 12 March/);
      assert.match(m.raw.toString(), /Care Team/);
      assert.equal(m.mailFrom, SECURE_SENDER);
      const { results } = await dkimVerify(m.raw, { resolver: nodeStyleResolver(configuredResolver(dns.address)) as DNSResolver });
      assert.deepEqual(
        results.map((r) => [r.signingDomain, r.status.result]),
        [
          ['secure.example.com', 'pass'],
          ['secure.example.com', 'pass'],
        ],
      );
      links.add(await portalLinkIn(m.raw));
    }
    assert.equal(links.size, 2, 'each recipient has a link of its own');
    const recipients = await gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('message_id', '=', queueId).execute());
    assert.deepEqual(recipients.map((r) => r.status).sort(), ['notified', 'notified']);
  });

  it('a notification that bounces marks the recipient bounced and sends the non-delivery report to the application through the inbound leg', async () => {
    sink.behaviour.rcpt = (address) => (address === 'gone@example.net' ? '550 5.1.1 no such mailbox' : undefined);
    const credential = await gw.createCredential();
    const before = hook.requests.length;
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: SECURE_SENDER,
      to: ['gone@example.net'],
      raw: secureMessage('For a lost mailbox'),
    });
    const [report] = (await hook.waitForRequests(before + 1)).slice(before);
    assert.ok(report);
    assert.equal(report.signature.ok, true);
    assert.deepEqual(report.payload.envelope, { mailFrom: '', recipients: [SECURE_SENDER] });
    assert.match(report.payload.text, /gone@example\.net/);
    assert.match(report.payload.authenticationResults, /non-delivery report written by this gateway/);
    const row = await waitFor(() =>
      gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('message_id', '=', queueId).where('status', '=', 'bounced').executeTakeFirst()),
    );
    assert.ok(row?.bounced_at);
    sink.behaviour.rcpt = undefined;
  });
});
