import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { openDialog } from './support/smtp-dialog.js';
import { submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { type InboundPayload, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SLOW_OK = { timeout: 60_000 };

/** A customer's mail as the organisation's server relays it on. */
function customerMail(subject: string, extraHeaders: string[] = [], body = 'Hello,\r\n\r\nMy order has not arrived.\r\n'): string {
  return [
    'From: "A Customer" <customer@customer.example>',
    'To: support@example.com',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@customer.example>`,
    'X-Ticket-Ref: T-77',
    ...extraHeaders,
    '',
    body,
  ].join('\r\n');
}

interface Setup {
  gw: TestGateway;
  hook: WebhookReceiver;
  dns: TestDnsServer;
  inbound: { username: string; secret: string; id: string };
  other: { username: string; secret: string; id: string };
  dir: TempDir;
}

async function setUp(settings: Record<string, unknown> = {}): Promise<Setup> {
  // The customer's domain publishes SPF for the loopback sender, so the marker shows spf=pass.
  const dns = await startDnsServer({ 'customer.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] } });
  const hook = await startWebhookReceiver();
  const dir = await tempDir('relaygate-inbound-');
  const caFile = join(dir.path, 'webhook-ca.pem');
  await writeFile(caFile, hook.caCert);
  const gw = await startTestGateway({
    dnsResolver: dns.address,
    'inbound.allowPrivateWebhooks': true,
    'inbound.webhookCaFile': caFile,
    'inbound.webhookTimeout': '1500ms',
    'inbound.inlineAttachmentBytes': 64,
    'queue.expireAfter': '8s',
    ...settings,
  });
  const { secret } = await gw.services(async (s) => {
    await s.addresses.add({ address: 'support@example.com', kind: 'support', aliases: ['help@example.com'] }, HARNESS_ACTOR);
    await s.addresses.add({ address: 'sales@example.test', kind: 'support' }, HARNESS_ACTOR);
    return s.inboundTargets.set({ kind: 'webhook', url: hook.url }, HARNESS_ACTOR);
  });
  hook.secret = secret ?? '';
  const inbound = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
  const other = await gw.createCredential('Other relay', { kind: 'inbound', domain: 'example.test' });
  return { gw, hook, dns, inbound, other, dir };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.gw.stop();
  await s?.hook.stop();
  await s?.dns.stop();
  await s?.dir.cleanup();
}

describe('inbound leg: authenticated relay to the application', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(() => tearDown(s));

  test('a message relayed with the inbound credential reaches the webhook, signed, marked and with its links', SLOW_OK, async () => {
    s.hook.behaviour = () => ({ status: 204 });
    const attachment = Buffer.alloc(300, 7).toString('base64');
    const raw = [
      'From: "A Customer" <customer@customer.example>',
      'To: support@example.com',
      'Subject: Parcel',
      'Message-ID: <parcel@customer.example>',
      'Authentication-Results: gateway.test; auth=pass smtp.auth=forged',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Where is my parcel?',
      '--b1',
      'Content-Type: application/octet-stream; name="scan.bin"',
      'Content-Disposition: attachment; filename="scan.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      attachment,
      '--b1--',
      '',
    ].join('\r\n');
    const before = s.hook.requests.length;
    const { queueId } = await submit(s.gw.gateway.ports.smtp, s.inbound, { from: 'customer@customer.example', to: ['help@example.com'], raw });
    const [request] = (await s.hook.waitForRequests(before + 1)).slice(before);
    assert.ok(request);
    assert.deepEqual(request.signature, { ok: true });
    assert.equal(request.headers['idempotency-key'], request.headers['webhook-id']);
    const p = request.payload;
    assert.equal(p.type, 'message.received');
    assert.equal(p.queueId, queueId);
    assert.equal(p.id, request.headers['webhook-id']);
    assert.deepEqual(p.envelope, { mailFrom: 'customer@customer.example', recipients: ['help@example.com'] });
    assert.equal(p.authenticated, true);
    assert.equal(p.relay.credentialId, s.inbound.id);
    assert.equal(p.relay.domain, 'example.com');
    assert.match(p.relay.tlsVersion, /^TLSv1\.[23]$/);
    assert.ok(p.relay.tlsCipher);
    assert.deepEqual(p.authentication.auth, { result: 'pass', credentialId: s.inbound.id, domain: 'example.com' });
    assert.equal(p.authentication.spf.result, 'pass');
    assert.match(
      p.authenticationResults,
      new RegExp(`^Authentication-Results: gateway\\.test;\\r\\n auth=pass \\(inbound credential for example\\.com\\)\\s+smtp\\.auth=${s.inbound.id};`),
    );
    assert.equal(p.subject, 'Parcel');
    assert.equal(p.text.trim(), 'Where is my parcel?');
    // The forged field claiming our authserv-id is gone; only ours remains.
    assert.equal(p.headers.filter((h) => h.name.toLowerCase() === 'authentication-results').length, 1);
    // 300 bytes is over the 64-byte inline limit: a signed link instead of the content.
    const file = p.attachments[0];
    assert.ok(file);
    assert.equal(file.filename, 'scan.bin');
    assert.equal(file.content, undefined);
    const fetched = Buffer.from(await (await fetch(file.url)).arrayBuffer());
    assert.deepEqual(fetched, Buffer.alloc(300, 7));
    const rawFetched = await (await fetch(p.rawUrl)).text();
    assert.match(rawFetched, /^Authentication-Results: gateway\.test;/);
    assert.match(rawFetched, /Where is my parcel\?/);
    // A link changed by one character is refused (a different one: 'A' would change nothing 1 time in 64).
    const tampered = await fetch(p.rawUrl.replace(/sig=(.)/, (_, first: string) => `sig=${first === 'A' ? 'B' : 'A'}`));
    assert.equal(tampered.status, 403);

    const q = await s.gw.queue();
    try {
      const shown = await waitFor(async () => {
        const m = await q.show(queueId);
        return m?.recipients[0]?.status === 'delivered' ? m : undefined;
      });
      assert.equal(shown.direction, 'inbound');
      assert.match(shown.recipients[0]?.lastReply ?? '', /^webhook answered 204 in \d+ ms$/);
    } finally {
      await q.close();
    }
  });

  test('the inbound credential reaches its own domain only: 550 5.1.1 unknown, 550 5.7.1 elsewhere', SLOW_OK, async () => {
    const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
    await dialog.ehlo('mail.example.com');
    await dialog.startTls();
    await dialog.ehlo('mail.example.com');
    assert.match(await dialog.authPlain(s.inbound.username, s.inbound.secret), /^235 /);
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(await dialog.send('RCPT TO:<nobody@example.com>'), '550 5.1.1 Recipient address <nobody@example.com> rejected: no such address here');
    assert.equal(
      await dialog.send('RCPT TO:<sales@example.test>'),
      '550 5.7.1 Relaying denied: <sales@example.test> is not in example.com, the domain of this credential',
    );
    assert.equal(
      await dialog.send('RCPT TO:<someone@elsewhere.example>'),
      '550 5.7.1 Relaying denied: <someone@elsewhere.example> is not in example.com, the domain of this credential',
    );
    assert.equal(await dialog.send('RCPT TO:<SUPPORT@example.com>'), '250 2.1.5 Accepted');
    dialog.close();
  });

  // A refusal mid-message must not leave the authentication check waiting for the rest of it.
  test('a refused inbound message gets its 550 at once, and the session goes on', SLOW_OK, async () => {
    const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
    await dialog.ehlo('mail.example.com');
    await dialog.startTls();
    await dialog.ehlo('mail.example.com');
    await dialog.authPlain(s.inbound.username, s.inbound.secret);
    for (const body of [`${customerMail('Long line')}${'y'.repeat(1200)}\r\n`, customerMail('Bare LF').replace('My order', 'My\norder')]) {
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      assert.equal(await dialog.send('RCPT TO:<support@example.com>'), '250 2.1.5 Accepted');
      assert.match(await dialog.send('DATA'), /^354 /);
      assert.match(await dialog.send(`${body}\r\n.`), /^550 5\.(5\.2|6\.0) /);
    }
    assert.equal(await dialog.send('NOOP'), '250 2.0.0 OK');
    dialog.close();
  });

  test('a failing webhook is retried with the same event id until it answers 2xx', SLOW_OK, async () => {
    let calls = 0;
    s.hook.behaviour = () => (++calls <= 2 ? { status: 500, body: { error: 'busy' } } : { status: 200 });
    const before = s.hook.requests.length;
    const { queueId } = await submit(s.gw.gateway.ports.smtp, s.inbound, {
      from: 'customer@customer.example',
      to: ['support@example.com'],
      raw: customerMail('Retry me'),
    });
    const requests = (await s.hook.waitForRequests(before + 3)).slice(before);
    assert.deepEqual(
      requests.map((r) => r.answered),
      [500, 500, 200],
    );
    assert.equal(new Set(requests.map((r) => r.headers['webhook-id'])).size, 1);
    const q = await s.gw.queue();
    try {
      const shown = await waitFor(async () => {
        const m = await q.show(queueId);
        return m?.completedAt ? m : undefined;
      });
      assert.equal(shown.recipients[0]?.attempts, 3);
      assert.ok(shown.events.some((e) => e.kind === 'deferred' && /webhook answered 500/.test(e.detail ?? '')));
    } finally {
      await q.close();
    }
  });

  test('a webhook that never answers in time: parked as failed at expiry, kept, and delivered after a retry', SLOW_OK, async () => {
    s.hook.behaviour = () => 'hang';
    const { queueId } = await submit(s.gw.gateway.ports.smtp, s.inbound, {
      from: 'customer@customer.example',
      to: ['support@example.com'],
      raw: customerMail('Parked'),
    });
    const q = await s.gw.queue();
    try {
      const parked = await waitFor(
        async () => {
          const m = await q.show(queueId);
          return m?.recipients[0]?.status === 'failed' ? m : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.match(parked.recipients[0]?.lastReply ?? '', /webhook did not answer within \d+ ms/);
      assert.equal(parked.completedAt, null);
      assert.ok(
        (await q.list({ includeCompleted: false, limit: 50 })).some((m) => m.id === queueId),
        'a parked message stays in the queue list',
      );
      assert.ok((await q.activeIds([queueId])).has(queueId), 'its body is kept');
      // No DSN: the organisation's server got a 250; a bounce now would be backscatter.
      assert.ok(
        !(await q.list({ includeCompleted: true, limit: 50 })).some((m) => m.mailFrom === '' && m.recipients[0]?.address === 'customer@customer.example'),
      );

      s.hook.behaviour = () => ({ status: 202 });
      assert.equal(await q.retry(queueId, Date.now(), Date.now() + 60_000), 1);
      const delivered = await waitFor(
        async () => {
          const m = await q.show(queueId);
          return m?.recipients[0]?.status === 'delivered' ? m : undefined;
        },
        { timeoutMs: 20_000 },
      );
      assert.match(delivered.recipients[0]?.lastReply ?? '', /^webhook answered 202/);
    } finally {
      await q.close();
    }
  });
});

describe('inbound leg: synchronous mode', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
    // example.test has its own target, with its own secret: the same receiver, synchronous.
    const { secret } = await s.gw.services((svc) =>
      svc.inboundTargets.set({ domain: 'example.test', kind: 'webhook', url: s.hook.url, synchronous: true }, HARNESS_ACTOR),
    );
    s.hook.secret = secret ?? '';
  });
  after(() => tearDown(s));

  async function relay(subject: string): Promise<string> {
    const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
    try {
      await dialog.ehlo('mail.example.test');
      await dialog.startTls();
      await dialog.ehlo('mail.example.test');
      await dialog.authPlain(s.other.username, s.other.secret);
      await dialog.send('MAIL FROM:<customer@customer.example>');
      await dialog.send('RCPT TO:<sales@example.test>');
      await dialog.send('DATA');
      return await dialog.send(`${customerMail(subject).replace('support@example.com', 'sales@example.test')}\r\n.`);
    } finally {
      dialog.close();
    }
  }

  test('the SMTP reply is the application answer: 2xx → 250, 4xx/5xx/timeout → 451 4.3.0, 422 → 550 5.7.1', SLOW_OK, async () => {
    const answers: Array<{ status: number; body?: unknown } | 'hang'> = [
      { status: 503 },
      'hang',
      { status: 422, body: { reason: 'ticket closed' } },
      { status: 200 },
    ];
    const replies: string[] = [];
    const start = s.hook.requests.length;
    for (const answer of answers) {
      s.hook.behaviour = () => answer;
      replies.push(await relay('Same message'));
    }
    assert.deepEqual(
      s.hook.requests.slice(start).map((r) => r.answered),
      [503, 0, 422, 200],
    );
    assert.equal(replies[0], '451 4.3.0 The receiving application did not accept the message now, try again later');
    assert.equal(replies[1], '451 4.3.0 The receiving application did not accept the message now, try again later');
    assert.equal(replies[2], '550 5.7.1 The receiving application refused the message: ticket closed');
    assert.match(replies[3] ?? '', /^250 2\.0\.0 Ok: delivered to the application as [0-9A-Z]+$/);
    // The organisation's server retried the same message: one idempotency key for all four calls.
    const requests = s.hook.requests.slice(start);
    assert.equal(requests.length, 4);
    assert.equal(new Set(requests.map((r) => r.headers['idempotency-key'])).size, 1);
    // Only the taken message is recorded, as delivered; the refused attempts left nothing queued.
    const q = await s.gw.queue();
    try {
      const inbound = (await q.list({ includeCompleted: true, limit: 100 })).filter(
        (m) => m.direction === 'inbound' && m.recipients[0]?.address === 'sales@example.test',
      );
      assert.equal(inbound.length, 1);
      assert.equal(inbound[0]?.recipients[0]?.status, 'delivered');
    } finally {
      await q.close();
    }
  });
});

describe('inbound leg: unauthenticated inbound', () => {
  test('off by default: MAIL without AUTH is refused 530 5.7.0', SLOW_OK, async () => {
    const s = await setUp();
    try {
      const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
      await dialog.ehlo('mail.example.com');
      await dialog.startTls();
      await dialog.ehlo('mail.example.com');
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '530 5.7.0 Authentication required');
      dialog.close();
    } finally {
      await tearDown(s);
    }
  });

  test('when allowed: known addresses only, after STARTTLS, delivered marked authenticated: false', SLOW_OK, async () => {
    const s = await setUp({ 'inbound.allowUnauthenticated': true });
    try {
      const plain = (await openDialog(s.gw.gateway.ports.smtp)).dialog;
      await plain.ehlo('mail.example.com');
      assert.equal(await plain.send('MAIL FROM:<customer@customer.example>'), '530 5.7.0 Must issue a STARTTLS command first');
      plain.close();

      const { dialog } = await openDialog(s.gw.gateway.ports.smtp);
      await dialog.ehlo('mail.example.com');
      await dialog.startTls();
      await dialog.ehlo('mail.example.com');
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      assert.equal(
        await dialog.send('RCPT TO:<someone@elsewhere.example>'),
        '550 5.7.1 Relaying denied: <someone@elsewhere.example> is not an address this gateway receives for',
      );
      assert.equal(await dialog.send('RCPT TO:<nobody@example.com>'), '550 5.1.1 Recipient address <nobody@example.com> rejected: no such address here');
      assert.equal(await dialog.send('RCPT TO:<support@example.com>'), '250 2.1.5 Accepted');
      assert.match(await dialog.send('DATA'), /^354 /);
      assert.match(await dialog.send(`${customerMail('Anonymous')}\r\n.`), /^250 2\.0\.0 Ok: queued as /);
      dialog.close();
      const [request] = await s.hook.waitForRequests(1);
      const p = request?.payload ?? ({} as InboundPayload);
      assert.equal(p.authenticated, false);
      assert.equal(p.relay.credentialId, null);
      assert.deepEqual(p.authentication.auth, { result: 'none', credentialId: null, domain: null });
      assert.match(p.authenticationResults, /auth=none/);
    } finally {
      await tearDown(s);
    }
  });
});
