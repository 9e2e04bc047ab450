import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const SMARTHOST_AUTH = { user: 'relay-user', pass: 'relay-pass' };
type SinkCert = { cert: string; key: string };

/** A smarthost that requires STARTTLS and AUTH, with a certificate from its own CA. */
async function smarthostPair(settings: Record<string, unknown> = {}): Promise<{ sink: SmtpSink; gw: TestGateway; cert: SinkCert; stop(): Promise<void> }> {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost']);
  const cert = { cert: leaf.chain, key: leaf.key };
  const sink = await startSmtpSink({ tls: 'starttls', auth: SMARTHOST_AUTH, cert });
  const dir = await tempDir('relaygate-ca-');
  const caFile = join(dir.path, 'ca.pem');
  await writeFile(caFile, ca.caCert);
  const gw = await startTestGateway({ smarthost: `smtp://relay-user:relay-pass@127.0.0.1:${sink.port}`, smarthostCaFile: caFile, ...settings });
  return {
    sink,
    gw,
    cert,
    async stop() {
      await gw.stop();
      await sink.stop();
      await dir.cleanup();
    },
  };
}

async function recipientStates(gw: TestGateway, queueId: string) {
  const queue = await gw.queue();
  try {
    const shown = await queue.show(queueId);
    assert.ok(shown, `message ${queueId} is in the queue`);
    return shown;
  } finally {
    await queue.close();
  }
}

/** Waits until the message's first recipient reaches `status`, and returns that recipient. */
function firstRecipientIn(gw: TestGateway, queueId: string, status: 'deferred' | 'delivered') {
  return waitFor(
    async () => {
      const r = (await recipientStates(gw, queueId)).recipients[0];
      return r?.status === status ? r : undefined;
    },
    { what: `${queueId} ${status}` },
  );
}

describe('delivery through the smarthost', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  test('relays over STARTTLS with AUTH, headers byte for byte, only our Received added on top', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    const credential = await pair.gw.createCredential();
    const raw = applicationMessage('byte-for-byte');
    const { queueId } = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net', 'second@example.net'],
      raw,
    });

    const [delivered] = await pair.sink.waitForMessages(1);
    assert.ok(delivered);
    assert.equal(delivered.mailFrom, 'support@example.com');
    assert.deepEqual(delivered.rcptTo, ['customer@example.net', 'second@example.net']);
    assert.equal(delivered.authUser, 'relay-user');
    assert.equal(delivered.secure, true);
    const text = delivered.raw.toString('latin1');
    const received = /^Received: from [^\r\n]+\r\n(?:\t[^\r\n]+\r\n)+/.exec(text);
    assert.ok(received, `starts with a Received header:\n${text.slice(0, 300)}`);
    assert.match(received[0], new RegExp(`by gateway\\.test \\(Relaygate\\) with ESMTPSA id ${queueId}`));
    assert.equal(text.slice(received[0].length), raw, 'everything after our Received header is the message as submitted');

    await waitFor(async () => (await recipientStates(pair.gw, queueId)).completedAt, { what: 'message completed' });
    const shown = await recipientStates(pair.gw, queueId);
    assert.deepEqual(
      shown.recipients.map((r) => [r.address, r.status, r.attempts]),
      [
        ['customer@example.net', 'delivered', 1],
        ['second@example.net', 'delivered', 1],
      ],
    );
  });

  test('a 4xx reply defers with the reply recorded, and the retry delivers', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    pair.sink.behaviour.rcpt = () => '451 4.3.0 mailbox temporarily locked';
    const credential = await pair.gw.createCredential();
    const { queueId } = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net'],
      raw: applicationMessage('deferred'),
    });

    const deferred = await firstRecipientIn(pair.gw, queueId, 'deferred');
    assert.equal(deferred.lastReply, '451 4.3.0 mailbox temporarily locked');
    assert.ok(deferred.nextAttemptAt && deferred.nextAttemptAt > (deferred.lastAttemptAt ?? 0), 'next attempt is scheduled after the last one');

    delete pair.sink.behaviour.rcpt;
    await pair.sink.waitForMessages(1);
    const done = await firstRecipientIn(pair.gw, queueId, 'delivered');
    assert.ok(done.attempts >= 2);
  });

  test('a 5xx reply bounces that recipient only, with an RFC 3464 DSN to the sender; the delivered one is not sent again', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    pair.sink.behaviour.rcpt = (address) => (address === 'gone@example.net' ? '550 5.1.1 <gone@example.net>: user unknown' : undefined);
    const credential = await pair.gw.createCredential();
    const { queueId } = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net', 'gone@example.net'],
      raw: applicationMessage('bounce-one'),
      dsn: { envid: 'ENV-42', notify: ['FAILURE'] },
    });

    const [first, dsn] = await pair.sink.waitForMessages(2);
    assert.ok(first && dsn);
    assert.deepEqual(first.rcptTo, ['customer@example.net']);
    assert.equal(dsn.mailFrom, '', 'a DSN has the null reverse-path (RFC 3464 §2)');
    assert.deepEqual(dsn.rcptTo, ['support@example.com']);
    const report = dsn.raw.toString();
    assert.match(report, /Content-Type: multipart\/report; report-type=delivery-status;/);
    assert.match(report, /Content-Type: message\/delivery-status\r\n\r\nReporting-MTA: dns; gateway\.test\r\n/);
    assert.match(report, /Original-Envelope-Id: ENV-42\r\n/);
    assert.match(
      report,
      /Final-Recipient: rfc822; gone@example\.net\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; 127\.0\.0\.1\r\nDiagnostic-Code: smtp; 550 5\.1\.1 <gone@example\.net>: user unknown\r\n/,
    );
    assert.match(report, /Content-Type: text\/rfc822-headers\r\n\r\nReceived: from[\s\S]*X-Ticket-Id: {3}T-1234 {3}\r\n/);
    assert.doesNotMatch(report, /Your ticket has been updated/, 'the body of the original is not returned');

    const shown = await recipientStates(pair.gw, queueId);
    assert.deepEqual(
      shown.recipients.map((r) => [r.address, r.status]),
      [
        ['customer@example.net', 'delivered'],
        ['gone@example.net', 'bounced'],
      ],
    );
    assert.ok(shown.completedAt);
    assert.equal(pair.sink.messages.filter((m) => m.rcptTo.includes('customer@example.net')).length, 1);
  });

  test('a refusal of the whole message at end of data bounces every recipient', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    pair.sink.behaviour.data = () => '554 5.6.0 content rejected';
    const credential = await pair.gw.createCredential();
    const { queueId } = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['a@example.net', 'b@example.net'],
      raw: applicationMessage('refused'),
    });
    const shown = await waitFor(async () => {
      const s = await recipientStates(pair.gw, queueId);
      return s.completedAt ? s : undefined;
    });
    assert.deepEqual(
      shown.recipients.map((r) => [r.status, r.lastReply]),
      [
        ['bounced', '554 5.6.0 content rejected'],
        ['bounced', '554 5.6.0 content rejected'],
      ],
    );
  });

  test('mail still deferred at expiry bounces with status 4.4.7 and the last reply', async () => {
    const pair = await smarthostPair({ 'queue.expireAfter': '1500ms', 'queue.retryInitial': '300ms', 'queue.retryMax': '300ms' });
    cleanups.push(pair.stop);
    pair.sink.behaviour.rcpt = (address) => (address === 'slow@example.net' ? '452 4.2.2 mailbox full' : undefined);
    const credential = await pair.gw.createCredential();
    const { queueId } = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['slow@example.net'],
      raw: applicationMessage('expires'),
    });

    const [dsn] = await pair.sink.waitForMessages(1);
    assert.ok(dsn);
    assert.deepEqual(dsn.rcptTo, ['support@example.com']);
    assert.match(dsn.raw.toString(), /Final-Recipient: rfc822; slow@example\.net\r\nAction: failed\r\nStatus: 4\.4\.7\r\n/);
    assert.match(dsn.raw.toString(), /Diagnostic-Code: smtp; delivery time expired; last reply: 452 4\.2\.2 mailbox full\r\n/);
    const shown = await recipientStates(pair.gw, queueId);
    assert.equal(shown.recipients[0]?.status, 'bounced');
    assert.ok((shown.recipients[0]?.attempts ?? 0) >= 2, 'retried before giving up');
  });

  test('no DSN for the null sender, nor for NOTIFY=NEVER', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    pair.sink.behaviour.rcpt = (address) => (address.startsWith('gone') ? '550 5.1.1 user unknown' : undefined);
    const credential = await pair.gw.createCredential();
    const nullSender = await submit(pair.gw.gateway.ports.smtp, credential, { from: '', to: ['gone1@example.net'], raw: applicationMessage('null-sender') });
    const never = await submit(pair.gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['gone2@example.net'],
      raw: applicationMessage('never'),
      dsn: { notify: ['NEVER'] },
    });
    for (const { queueId } of [nullSender, never]) {
      await waitFor(async () => (await recipientStates(pair.gw, queueId)).completedAt, { what: `${queueId} completed` });
    }
    // A marker message after both: once it arrives, any DSN would have been queued before it.
    await submit(pair.gw.gateway.ports.smtp, credential, { from: 'support@example.com', to: ['marker@example.net'], raw: applicationMessage('marker') });
    await pair.sink.waitForMessages(1);
    const queue = await pair.gw.queue();
    try {
      const all = await queue.list({ includeCompleted: true, limit: 50 });
      assert.equal(all.filter((m) => m.isDsn).length, 0);
    } finally {
      await queue.close();
    }
  });

  test('a smarthost outage defers with a connection reason; mail is delivered when it is back', async () => {
    const pair = await smarthostPair();
    cleanups.push(pair.stop);
    const port = pair.sink.port;
    await pair.sink.stop();
    const credential = await pair.gw.createCredential();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await submit(pair.gw.gateway.ports.smtp, credential, {
            from: 'support@example.com',
            to: [`c${i}@example.net`],
            raw: applicationMessage(`outage-${i}`),
          })
        ).queueId,
      );
    await waitFor(async () => {
      const states = await Promise.all(ids.map((id) => recipientStates(pair.gw, id)));
      return states.every((s) => s.recipients[0]?.status === 'deferred' && /ECONNREFUSED|connect/i.test(s.recipients[0]?.lastReply ?? ''));
    });
    const revived = await startSmtpSink({ tls: 'starttls', auth: SMARTHOST_AUTH, port, cert: pair.cert });
    cleanups.push(() => revived.stop());
    const delivered = await revived.waitForMessages(3);
    assert.deepEqual(delivered.map((m) => m.rcptTo[0]).sort(), ['c0@example.net', 'c1@example.net', 'c2@example.net']);
  });

  test('a smarthost that does not offer STARTTLS gets nothing: deferred, never sent in the clear', async () => {
    const plain = await startSmtpSink({ tls: 'none', auth: SMARTHOST_AUTH });
    const gw = await startTestGateway({ smarthost: `smtp://relay-user:relay-pass@127.0.0.1:${plain.port}` });
    cleanups.push(async () => {
      await gw.stop();
      await plain.stop();
    });
    const credential = await gw.createCredential();
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net'],
      raw: applicationMessage('no-starttls'),
    });
    const r = await firstRecipientIn(gw, queueId, 'deferred');
    assert.match(r.lastReply ?? '', /STARTTLS/i);
    assert.equal(plain.messages.length, 0);
  });

  test('a smarthost that refuses our credentials: deferred with an AUTH reason, never bounced', async () => {
    const pair = await smarthostPair({});
    cleanups.push(pair.stop);
    await pair.gw.stop();
    const dir = await tempDir('relaygate-ca-');
    cleanups.push(dir.cleanup);
    await writeFile(join(dir.path, 'ca.pem'), pair.cert.cert);
    const gw = await startTestGateway({ smarthost: `smtp://relay-user:wrong@127.0.0.1:${pair.sink.port}`, smarthostCaFile: join(dir.path, 'ca.pem') });
    cleanups.push(gw.stop);
    const credential = await gw.createCredential();
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net'],
      raw: applicationMessage('bad-auth'),
    });
    const r = await firstRecipientIn(gw, queueId, 'deferred');
    assert.match(r.lastReply ?? '', /^AUTH PLAIN: 535/);
    assert.equal(pair.sink.messages.length, 0);
  });

  test('a smarthost whose certificate is not trusted gets nothing: deferred with a TLS reason', async () => {
    const sink = await startSmtpSink({ tls: 'starttls', auth: SMARTHOST_AUTH });
    const gw = await startTestGateway({ smarthost: `smtp://relay-user:relay-pass@127.0.0.1:${sink.port}` });
    cleanups.push(async () => {
      await gw.stop();
      await sink.stop();
    });
    const credential = await gw.createCredential();
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net'],
      raw: applicationMessage('untrusted'),
    });
    const r = await firstRecipientIn(gw, queueId, 'deferred');
    assert.match(r.lastReply ?? '', /certificate/i);
    assert.equal(sink.messages.length, 0);
  });
});
