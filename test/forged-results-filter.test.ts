import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { ForgedResultsFilter } from '../src/pipeline/forged-results-filter.js';

const OURS = 'mx.relaygate.test';

/** Feeds the message through the filter in chunks of `size` bytes and returns what came out. */
async function filtered(message: string, size = 64 * 1024, maxBytes?: number): Promise<string> {
  const bytes = Buffer.from(message, 'latin1');
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  const filter = new ForgedResultsFilter(OURS, maxBytes);
  const output = buffer(filter);
  await pipeline(Readable.from(chunks), filter);
  return (await output).toString('latin1');
}

const lines = (...all: string[]) => all.map((line) => `${line}\r\n`).join('');

const FORGED = lines('Authentication-Results: mx.relaygate.test;', ' spf=pass smtp.mailfrom=ceo@example.org;', '\tdkim=pass header.d=example.org');
const THEIRS = lines('Authentication-Results: mx.other.example; spf=fail smtp.mailfrom=ceo@example.org');
const HEAD = lines('Received: from app1.example.org', '\tby mx.other.example; Tue, 2 Jun 2026 09:30:00 +0000', 'From: ceo@example.org');
const TAIL = lines('Subject: Wire transfer', ' (urgent)');
const BODY = lines('Please pay.', 'Authentication-Results: mx.relaygate.test; dkim=pass', '', 'Thanks');

// Each case: a header section with our forged field somewhere in it, and what must come out.
const cases: Array<{ name: string; input: string; output: string }> = [
  { name: 'a folded field with our id, between others', input: HEAD + FORGED + TAIL + '\r\n' + BODY, output: HEAD + TAIL + '\r\n' + BODY },
  { name: 'the first field of the message', input: FORGED + TAIL + '\r\n' + BODY, output: TAIL + '\r\n' + BODY },
  { name: 'the last field, right before the empty line', input: HEAD + FORGED + '\r\n' + BODY, output: HEAD + '\r\n' + BODY },
  {
    name: 'our id in other case, after a comment, with a version, name spaced from its colon',
    input: HEAD + lines('authentication-results : (forged) MX.Relaygate.Test 1; dmarc=pass') + '\r\n' + BODY,
    output: HEAD + '\r\n' + BODY,
  },
  {
    // Not RFC 5322, but postal-mime (the webhook payload) unfolds first and reads it as the field.
    name: 'a fold between the name and its colon',
    input: HEAD + lines('Authentication-Results', '\t: mx.relaygate.test; spf=pass') + '\r\n' + BODY,
    output: HEAD + '\r\n' + BODY,
  },
  { name: 'our id as a quoted-string', input: lines('Authentication-Results: "mx.relaygate.test"; auth=pass') + '\r\n' + BODY, output: '\r\n' + BODY },
  { name: 'several forged fields', input: FORGED + HEAD + FORGED + FORGED + '\r\n' + BODY, output: HEAD + '\r\n' + BODY },
  { name: 'a message with no body and no final CRLF', input: HEAD + FORGED.slice(0, -2), output: HEAD },
  { name: 'a message with no body, ending on its last field', input: HEAD + FORGED, output: HEAD },
];

for (const { name, input, output } of cases) {
  test(`removes an Authentication-Results field with our authserv-id: ${name}`, async () => {
    assert.equal(await filtered(input), output);
    // A header field and the CRLFCRLF that ends the section may be split anywhere.
    assert.equal(await filtered(input, 1), output, 'fed one byte at a time');
    assert.equal(await filtered(input, 5), output, 'fed five bytes at a time');
  });
}

test('keeps fields of other authserv-ids, and ids that only begin like ours', async () => {
  const others = THEIRS + lines('Authentication-Results: mx.relaygate.test.evil.example; spf=pass', 'X-Authentication-Results: mx.relaygate.test; spf=pass');
  const message = HEAD + others + TAIL + '\r\n' + BODY;
  assert.equal(await filtered(message), message);
  assert.equal(await filtered(message, 1), message);
});

test('leaves the body alone, even a line that looks like our field', async () => {
  const message = HEAD + '\r\n' + lines('Authentication-Results: mx.relaygate.test; spf=pass', ' dkim=pass') + BODY;
  assert.equal(await filtered(message), message);
  assert.equal(await filtered(message, 1), message);
});

test('a message whose header section is empty passes through', async () => {
  assert.equal(await filtered('\r\n' + BODY, 1), '\r\n' + BODY);
});

test('bytes outside ASCII and bare LF pass through unchanged', async () => {
  const message = lines('Subject: caf\xe9\nstill the subject') + FORGED + '\r\n' + 'caf\xe9\r\n\xff\xfe\n';
  assert.equal(await filtered(message, 3), lines('Subject: caf\xe9\nstill the subject') + '\r\n' + 'caf\xe9\r\n\xff\xfe\n');
});

test('past the header limit the rest passes through unchanged rather than being held', async () => {
  const padding = lines(...Array.from({ length: 40 }, (_, i) => `X-Padding-${i}: ${'x'.repeat(60)}`));
  const message = FORGED + padding + FORGED + '\r\n' + BODY;
  assert.equal(await filtered(message, 100, 1024), padding + FORGED + '\r\n' + BODY);
});

test('the body goes through in chunks as it comes, not held back', async () => {
  const filter = new ForgedResultsFilter(OURS);
  const seen: string[] = [];
  filter.on('data', (chunk: Buffer) => seen.push(chunk.toString('latin1')));
  filter.write(Buffer.from(HEAD + FORGED + '\r\nfirst part '));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.join(''), HEAD + '\r\nfirst part ');
  filter.write(Buffer.from('second part'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.at(-1), 'second part');
  filter.end();
});
