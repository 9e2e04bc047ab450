/**
 * Property tests (issue 9) for the webhook payload builder: generated MIME messages (nested
 * multiparts, random headers, transfer encodings, attachments with and without names) and
 * damaged or hostile ones. buildWebhookPayload may refuse only as documented (postal-mime's
 * nesting and header-size limits); everything it returns must survive JSON unchanged, and
 * every attachment generated must be in it with its bytes. A failure prints fast-check's seed
 * and the shrunk counterexample (replay: RELAYGATE_PROPERTY_SEED).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildWebhookPayload, type PayloadInput } from '../src/inbound/webhook-payload.js';
import { runs } from './support/property-runs.js';

/** The refusals the builder documents: postal-mime's limits. */
const DOCUMENTED_REFUSAL = /^Maximum (MIME nesting depth of \d+ levels|header size of \d+ bytes) exceeded$/;

function input(raw: Buffer, inlineLimitBytes = 1_000_000): PayloadInput {
  return {
    eventId: 'evt_1',
    queueId: 'Q1',
    receivedAt: 1_780_000_000_000,
    raw,
    envelope: { mailFrom: 'sender@example.org', recipients: ['inbox@example.com'] },
    relay: { authenticated: false, credentialId: null, domain: 'example.com', clientIp: '192.0.2.1', tlsVersion: 'TLSv1.3', tlsCipher: null },
    authentication: { spf: { result: 'pass' } },
    authenticationResults: null,
    inlineLimitBytes,
    urls: { raw: 'https://gw.example/raw', attachment: (index) => `https://gw.example/attachment/${index}` },
  };
}

/** Wraps at 76 characters, as RFC 2045 §6.8 requires of base64. */
const wrap = (text: string) => (text.match(/.{1,76}/g) ?? []).join('\r\n');

/** RFC 2045 §6.7 quoted-printable of any bytes, soft line breaks included. */
function quotedPrintable(bytes: Uint8Array): string {
  const encoded = [...bytes].map((b) => (b >= 33 && b <= 126 && b !== 61 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`));
  const lines: string[] = [];
  let line = '';
  for (const token of encoded) {
    if (line.length + token.length > 75) {
      lines.push(`${line}=`);
      line = '';
    }
    line += token;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function encodeBody(bytes: Uint8Array, encoding: 'base64' | 'quoted-printable'): string {
  return encoding === 'base64' ? wrap(Buffer.from(bytes).toString('base64')) : quotedPrintable(bytes);
}

/** A filename as a mail program writes it: quoted ASCII, or RFC 2231 for anything else. */
function filenameParam(name: string): string {
  if (/^[ -~]*$/.test(name) && !/["\\]/.test(name)) return `filename="${name}"`;
  return `filename*=UTF-8''${encodeURIComponent(name).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

interface AttachmentSpec {
  content: Uint8Array;
  filename: string | null;
  contentType: string;
  disposition: 'attachment' | 'inline';
  encoding: 'base64' | 'quoted-printable';
}

const attachment: fc.Arbitrary<AttachmentSpec> = fc.record({
  content: fc.uint8Array({ maxLength: 2000 }),
  filename: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((n) => n.trim() === n && !/[\p{Cc}\p{Cf}/\\]/u.test(n))),
  contentType: fc.constantFrom('application/octet-stream', 'application/pdf', 'image/png', 'application/zip'),
  disposition: fc.constantFrom('attachment', 'inline'),
  encoding: fc.constantFrom('base64', 'quoted-printable'),
});

const textBody = fc.record({
  text: fc.string({ unit: 'grapheme', maxLength: 300 }),
  subtype: fc.constantFrom('plain', 'html'),
  encoding: fc.constantFrom('base64', 'quoted-printable', '8bit') as fc.Arbitrary<'base64' | 'quoted-printable' | '8bit'>,
});

/** Header fields nobody should need to understand, in the spellings found in the wild. */
const extraHeader = fc.oneof(
  fc
    .tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 60 }))
    .map(([n, v]) => `${n}: ${v.replace(/[\r\n]/g, ' ')}`),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((v) => `X-Utf8: ${v.replace(/[\r\n]/g, ' ')}`),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((v) => `Subject: =?UTF-8?B?${Buffer.from(v).toString('base64')}?=`),
  fc.constantFrom(
    'To: Team: a@example.com, "B, b" <b@example.com>;',
    'Cc: <@route:c@example.com>',
    'Reply-To: <>',
    'Date: not a date',
    'References: junk <a@b> <c@d>',
  ),
);

interface MessageSpec {
  headers: string[];
  body: { text: string; subtype: string; encoding: 'base64' | 'quoted-printable' | '8bit' } | null;
  attachments: AttachmentSpec[];
  /** Extra multipart/mixed levels around the whole body. */
  depth: number;
}

const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  headers: fc.array(extraHeader, { maxLength: 6 }),
  body: fc.option(textBody),
  attachments: fc.array(attachment, { maxLength: 4 }),
  depth: fc.integer({ min: 0, max: 4 }),
});

function renderText(body: NonNullable<MessageSpec['body']>): string {
  const bytes = Buffer.from(body.text);
  const content = body.encoding === '8bit' ? body.text.replace(/\r?\n|\r/g, '\r\n') : encodeBody(bytes, body.encoding);
  return `Content-Type: text/${body.subtype}; charset=utf-8\r\nContent-Transfer-Encoding: ${body.encoding}\r\n\r\n${content}`;
}

function renderAttachment(a: AttachmentSpec): string {
  const name = a.filename === null ? '' : `; ${filenameParam(a.filename)}`;
  return `Content-Type: ${a.contentType}\r\nContent-Disposition: ${a.disposition}${name}\r\nContent-Transfer-Encoding: ${a.encoding}\r\n\r\n${encodeBody(a.content, a.encoding)}`;
}

function multipart(boundary: string, parts: string[]): string {
  return `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`;
}

function render(spec: MessageSpec): Buffer {
  const parts = [...(spec.body ? [renderText(spec.body)] : []), ...spec.attachments.map(renderAttachment)];
  let entity = multipart('b0', parts.length > 0 ? parts : ['Content-Type: text/plain\r\n\r\n']);
  for (let level = 1; level <= spec.depth; level++) entity = multipart(`b${level}`, [entity]);
  const head = ['From: "Sender" <sender@example.org>', 'To: inbox@example.com', 'Message-ID: <m1@example.org>', 'MIME-Version: 1.0', ...spec.headers];
  return Buffer.from(`${head.join('\r\n')}\r\n${entity}`);
}

function assertJsonSafe(payload: Record<string, unknown>): void {
  assert.deepEqual(JSON.parse(JSON.stringify(payload)), payload, 'the payload survives JSON unchanged (no undefined, NaN, Buffer or Date)');
}

describe('webhook payload (inbound/webhook-payload)', () => {
  test('every generated attachment is in the payload with its bytes (inline) or a link (over the limit), and the payload is plain JSON', async () => {
    await fc.assert(
      fc.asyncProperty(messageSpec, fc.integer({ min: 0, max: 2500 }), async (spec, inlineLimit) => {
        const payload = await buildWebhookPayload(input(render(spec), inlineLimit));
        assertJsonSafe(payload);
        const attachments = payload.attachments as Record<string, unknown>[];
        assert.equal(attachments.length, spec.attachments.length, 'one payload attachment per attachment part');
        spec.attachments.forEach((expected, index) => {
          const got = attachments[index] as Record<string, unknown>;
          // Known postal-mime 4.0.0 deviation, pinned so an upgrade that fixes it is noticed:
          // a quoted-printable part gets an LF after its last line, whose CRLF belongs to the
          // boundary (RFC 2046 §5.1.1). The part does not say how it was encoded, so the
          // gateway cannot undo it; base64 parts come through exact.
          const bytes = Buffer.concat([expected.content, Buffer.from(expected.encoding === 'quoted-printable' ? '\n' : '')]);
          assert.equal(got.index, index);
          assert.equal(got.contentType, expected.contentType);
          assert.equal(got.size, bytes.length);
          assert.equal(got.filename, expected.filename);
          if (bytes.length <= inlineLimit) assert.equal(got.content, bytes.toString('base64'));
          else assert.equal(got.url, `https://gw.example/attachment/${index}`);
        });
        if (spec.body?.subtype === 'plain' && spec.body.text.trim() !== '') assert.notEqual(payload.text, null);
      }),
      runs(400),
    );
  });

  // Damaged mail arrives too: cut short anywhere, bytes flipped, boundaries that never close,
  // nesting deeper than any parser allows. Only the documented refusal may reject.
  test('on damaged or hostile MIME it returns plain JSON or refuses only as documented', async () => {
    const damaged = fc.oneof(
      fc.tuple(messageSpec, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([spec, cut, flips]) => {
        const bytes = render(spec);
        const out = Buffer.from(bytes.subarray(0, cut % (bytes.length + 1)));
        for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value;
        return out;
      }),
      fc.integer({ min: 1, max: 300 }).map((depth) => {
        let entity = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
        for (let i = 0; i < depth; i++) entity = multipart(`d${i}`, [entity]);
        return Buffer.from(`From: a@example.org\r\n${entity}`);
      }),
      fc.integer({ min: 1, max: 4000 }).map((n) => Buffer.from(`From: a@example.org\r\n${'X-Long: '.padEnd(100, 'y')}\r\n`.repeat(n))),
      fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(
      fc.asyncProperty(damaged, async (raw) => {
        let payload: Record<string, unknown>;
        try {
          payload = await buildWebhookPayload(input(raw));
        } catch (err) {
          assert.match((err as Error).message, DOCUMENTED_REFUSAL);
          return;
        }
        assertJsonSafe(payload);
        assert.ok(Array.isArray(payload.attachments) && Array.isArray(payload.headers));
      }),
      runs(400),
    );
  });
});
