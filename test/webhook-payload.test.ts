import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { attachmentAt, buildWebhookPayload, type PayloadInput } from '../src/inbound/webhook-payload.js';

const smallFile = Buffer.from('order 1042: 3 items\n');
const bigFile = randomBytes(5000);
const pixel = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/** Wraps base64 at 76 characters, as RFC 2045 §6.8 requires. */
function base64Lines(content: Buffer): string {
  return (content.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

// A message as the gateway delivers it: our trace header on top, a folded Subject, a group
// in Cc, text and HTML alternatives, a small and a large attachment and an inline image.
const raw = Buffer.from(
  [
    'Received: from app.example ([192.0.2.10]) by relaygate.test with ESMTPSA id q_01; Mon, 2 Mar 2026 10:00:00 +0000',
    'From: "Billing" <billing@shop.example>',
    'To: Ann <ann@customer.example>, bob@customer.example',
    'Cc: Team: carol@shop.example, Dan <dan@shop.example>;',
    'Reply-To: support@shop.example',
    'Subject: Your order',
    ' 1042 has shipped',
    'Date: Mon, 2 Mar 2026 09:59:58 +0000',
    'Message-ID: <m1042@shop.example>',
    'In-Reply-To: <q77@customer.example>',
    'References: <q76@customer.example> <q77@customer.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/related; boundary="related"',
    '',
    '--related',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Hello Ann, your order has shipped =E2=80=94 thank you.',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Hello Ann, your order has shipped.</p><img src="cid:logo@shop.example">',
    '--alt--',
    '--related',
    'Content-Type: image/png',
    'Content-ID: <logo@shop.example>',
    'Content-Disposition: inline',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(pixel),
    '--related--',
    '--outer',
    'Content-Type: text/plain; name="order.txt"',
    'Content-Disposition: attachment; filename="order.txt"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(smallFile),
    '--outer',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="invoice.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(bigFile),
    '--outer--',
    '',
  ].join('\r\n'),
);

const input: PayloadInput = {
  eventId: 'evt_01',
  queueId: 'q_01',
  receivedAt: Date.UTC(2026, 2, 2, 10, 0, 0),
  raw,
  envelope: { mailFrom: 'bounces@shop.example', recipients: ['ann@customer.example'] },
  relay: {
    authenticated: true,
    credentialId: 'cred_7',
    domain: 'shop.example',
    clientIp: '192.0.2.10',
    tlsVersion: 'TLSv1.3',
    tlsCipher: 'TLS_AES_256_GCM_SHA384',
  },
  authentication: { spf: { result: 'pass' }, dkim: [] },
  authenticationResults: 'relaygate.test; spf=pass smtp.mailfrom=shop.example',
  inlineLimitBytes: 1024,
  urls: {
    raw: 'https://relaygate.test/v1/raw/q_01?expires=1&sig=r',
    attachment: (index) => `https://relaygate.test/v1/attachments/q_01/${index}?expires=1&sig=a`,
  },
};

test('webhook payload: envelope, relay facts and the parsed message', async () => {
  const payload = await buildWebhookPayload(input);
  const { headers, attachments, text, html, ...rest } = payload;
  assert.deepEqual(rest, {
    type: 'message.received',
    id: 'evt_01',
    queueId: 'q_01',
    receivedAt: '2026-03-02T10:00:00.000Z',
    envelope: { mailFrom: 'bounces@shop.example', recipients: ['ann@customer.example'] },
    authenticated: true,
    // A record stored before the relay port existed has no clientCertificate: the payload says null.
    relay: {
      credentialId: 'cred_7',
      domain: 'shop.example',
      clientIp: '192.0.2.10',
      tlsVersion: 'TLSv1.3',
      tlsCipher: 'TLS_AES_256_GCM_SHA384',
      clientCertificate: null,
    },
    authentication: { spf: { result: 'pass' }, dkim: [] },
    authenticationResults: 'relaygate.test; spf=pass smtp.mailfrom=shop.example',
    messageId: '<m1042@shop.example>',
    subject: 'Your order 1042 has shipped',
    from: { address: 'billing@shop.example', name: 'Billing' },
    to: [
      { address: 'ann@customer.example', name: 'Ann' },
      { address: 'bob@customer.example', name: null },
    ],
    cc: [
      { address: 'carol@shop.example', name: null },
      { address: 'dan@shop.example', name: 'Dan' },
    ],
    replyTo: [{ address: 'support@shop.example', name: null }],
    date: '2026-03-02T09:59:58.000Z',
    inReplyTo: '<q77@customer.example>',
    references: ['<q76@customer.example>', '<q77@customer.example>'],
    rawUrl: 'https://relaygate.test/v1/raw/q_01?expires=1&sig=r',
  });
  assert.equal(text, 'Hello Ann, your order has shipped — thank you.\n');
  assert.match(String(html), /^<p>Hello Ann, your order has shipped\.<\/p><img src="cid:logo@shop\.example">/);
  // Every header in message order, our trace header first, folded values unfolded.
  const list = headers as { name: string; value: string }[];
  assert.deepEqual(
    list.map((h) => h.name),
    ['Received', 'From', 'To', 'Cc', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'References', 'MIME-Version', 'Content-Type'],
  );
  assert.deepEqual(list[5], { name: 'Subject', value: 'Your order 1042 has shipped' });
  assert.match(list[0]?.value ?? '', /^from app\.example \(\[192\.0\.2\.10\]\) by relaygate\.test/);
});

test('webhook payload: small attachments inline as base64, large ones as a URL', async () => {
  const payload = await buildWebhookPayload(input);
  assert.deepEqual(payload.attachments, [
    {
      index: 0,
      filename: null,
      contentType: 'image/png',
      size: pixel.length,
      contentId: 'logo@shop.example',
      disposition: 'inline',
      content: pixel.toString('base64'),
    },
    {
      index: 1,
      filename: 'order.txt',
      contentType: 'text/plain',
      size: smallFile.length,
      contentId: null,
      disposition: 'attachment',
      content: smallFile.toString('base64'),
    },
    {
      index: 2,
      filename: 'invoice.bin',
      contentType: 'application/octet-stream',
      size: 5000,
      contentId: null,
      disposition: 'attachment',
      url: 'https://relaygate.test/v1/attachments/q_01/2?expires=1&sig=a',
    },
  ]);
});

test('webhook payload: attachmentAt returns the same bytes under the same index', async () => {
  assert.deepEqual(await attachmentAt(raw, 2), { filename: 'invoice.bin', contentType: 'application/octet-stream', content: bigFile });
  assert.deepEqual(await attachmentAt(raw, 1), { filename: 'order.txt', contentType: 'text/plain', content: smallFile });
  assert.equal(await attachmentAt(raw, 3), undefined);
});

test('webhook payload: a bare text message has nulls and empty lists, not missing fields', async () => {
  const bare = Buffer.from('Received: by relaygate.test; Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nno headers to speak of\r\n');
  const payload = await buildWebhookPayload({ ...input, raw: bare, relay: { ...input.relay, authenticated: false, credentialId: null } });
  assert.equal(payload.authenticated, false);
  assert.deepEqual([payload.messageId, payload.subject, payload.from, payload.html, payload.date, payload.inReplyTo], [null, null, null, null, null, null]);
  assert.deepEqual([payload.to, payload.cc, payload.replyTo, payload.references, payload.attachments], [[], [], [], [], []]);
  assert.equal(payload.text, 'no headers to speak of\n');
});
