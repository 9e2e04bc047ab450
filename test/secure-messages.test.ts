import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { portalLinkIn, routeSecure, SECURE_SENDER } from './support/secure.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { submit } from './support/submit.js';

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

describe('secure messages: encryption at rest and notification', () => {
  let sink: SmtpSink;
  let gw: TestGateway;

  before(async () => {
    sink = await startSmtpSink({ tls: 'none' });
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none` });
    await routeSecure(gw);
  });
  after(async () => {
    await gw?.stop();
    await sink?.stop();
  });

  it('stores only ciphertext and sends each recipient a notification with its own link', async () => {
    const credential = await gw.createCredential();
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: SECURE_SENDER,
      to: ['patient@example.net', 'carer@example.org'],
      raw: secureMessage('Results of 12 March'),
    });
    const stored = await readFile(join(gw.dataDir, 'spool', queueId));
    assert.ok(!stored.includes(SECRET_LINE), 'the spool holds plaintext');
    assert.ok(!stored.includes('Results of 12 March'), 'the spool holds the subject in the clear');

    const [first, second] = await sink.waitForMessages(2);
    for (const m of [first, second]) {
      assert.ok(m);
      assert.ok(!m.raw.includes(SECRET_LINE), 'a notification carries message content');
      assert.match(m.raw.toString(), /Subject: Results of 12 March/);
      assert.match(m.raw.toString(), /Care Team/);
      assert.equal(m.mailFrom, SECURE_SENDER);
    }
    assert.notEqual(await portalLinkIn(first?.raw ?? Buffer.alloc(0)), await portalLinkIn(second?.raw ?? Buffer.alloc(0)));
  });
});
