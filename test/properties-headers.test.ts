/**
 * Property tests (issue 9) for header handling on the acceptance path: DataGuard,
 * HeaderCapture and ForgedResultsFilter see a message in whatever chunks TCP delivers, so
 * every property here feeds the same bytes cut at random places and compares with a
 * reference model written the plain way. Also the Subject reader. A failure prints
 * fast-check's seed and the shrunk counterexample (replay: RELAYGATE_PROPERTY_SEED).
 */
import assert from 'node:assert/strict';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SmtpReply } from '../src/model/smtp-reply.js';
import { DataGuard, MAX_LINE_OCTETS } from '../src/pipeline/data-guard.js';
import { ForgedResultsFilter } from '../src/pipeline/forged-results-filter.js';
import { HeaderCapture } from '../src/pipeline/header-capture.js';
import { subjectOf } from '../src/pipeline/header-subject.js';
import { runs } from './support/property-runs.js';

type Outcome = { out: Buffer } | { error: unknown };

/** Runs `bytes` through a fresh transform, cut at `cuts` (positions, any order, any count). */
async function through(transform: Transform, bytes: Buffer, cuts: number[] = []): Promise<Outcome> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks = [0, ...points].map((from, i) => bytes.subarray(from, points[i] ?? bytes.length)).filter((c) => c.length > 0);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  try {
    await pipeline(Readable.from(chunks), transform, sink);
    return { out: Buffer.concat(out) };
  } catch (error) {
    return { error };
  }
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });
const latin1 = (parts: string[]) => Buffer.from(parts.join(''), 'latin1');

/** Message content: mostly proper lines, sometimes the bytes DataGuard exists to refuse. */
const content = fc
  .array(
    fc.oneof(
      { weight: 20, arbitrary: fc.constant('\r\n') },
      { weight: 20, arbitrary: fc.stringMatching(/^[A-Za-z .:-]{0,30}$/) },
      { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\0', '\n.\n', '\r.\r', '\r\n.\r\n', '\xff') },
      { weight: 1, arbitrary: fc.integer({ min: MAX_LINE_OCTETS - 4, max: MAX_LINE_OCTETS + 4 }).map((n) => 'x'.repeat(n)) },
    ),
    { maxLength: 40 },
  )
  .map(latin1);

describe('DataGuard (pipeline/data-guard)', () => {
  /** Every rule the bytes break, as the replies DataGuard may answer with: the model. */
  function violations(bytes: Buffer, maxBytes: number): Set<string> {
    const found = new Set<string>();
    if (bytes.length > maxBytes) found.add(SmtpReply.messageTooBig(maxBytes).message);
    if (bytes.includes(0)) found.add(SmtpReply.nulInMessage().message);
    const text = bytes.toString('latin1');
    if (/\r(?!\n)|(?<!\r)\n/.test(text)) found.add(SmtpReply.bareLineEnding().message);
    if (text.split('\n').some((line) => line.replace(/\r$/, '').length > MAX_LINE_OCTETS)) found.add(SmtpReply.lineTooLong().message);
    return found;
  }

  test('refuses exactly the content that breaks a rule, with the reply for a rule it breaks, wherever the chunks are cut', async () => {
    await fc.assert(
      fc.asyncProperty(content, fc.integer({ min: 1, max: 3000 }), cuts, async (bytes, maxBytes, at) => {
        const expected = violations(bytes, maxBytes);
        const outcome = await through(new DataGuard(maxBytes), bytes, at);
        if ('out' in outcome) {
          assert.deepEqual([...expected], [], 'accepted content that breaks a rule');
          assert.ok(outcome.out.equals(bytes), 'accepted content passes byte for byte');
        } else {
          assert.ok(outcome.error instanceof SmtpReply, `not an SmtpReply: ${String(outcome.error)}`);
          assert.ok(expected.has(outcome.error.message), `refused with ${outcome.error.message}; the content breaks ${[...expected].join(' | ') || 'no rule'}`);
        }
      }),
      runs(1500),
    );
  });
});

describe('HeaderCapture (pipeline/header-capture)', () => {
  /** Header fields as they arrive behind the DataGuard: CRLF lines, maybe folded, maybe a body. */
  const message = fc
    .tuple(
      fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z-]{1,10}: [ -~]{0,30}$/), fc.stringMatching(/^[ \t][ -~]{0,20}$/)), { maxLength: 8 }),
      fc.option(fc.array(fc.stringMatching(/^[ -~]{0,30}$/), { maxLength: 5 })),
      fc.boolean(),
    )
    .map(([fields, body, finalCrlf]) => {
      const head = fields.join('\r\n');
      if (body === null) return latin1([head, finalCrlf && head !== '' ? '\r\n' : '']);
      return latin1([head === '' ? '' : `${head}\r\n`, '\r\n', body.map((l) => `${l}\r\n`).join('')]);
    });

  // The model: the section ends at the first CRLF CRLF (or at once when the message starts
  // with CRLF); without one the whole message is the header section.
  function modelSection(bytes: Buffer): Buffer {
    if (bytes.subarray(0, 2).toString('latin1') === '\r\n') return Buffer.alloc(0);
    const end = bytes.indexOf('\r\n\r\n');
    return end === -1 ? bytes : bytes.subarray(0, end);
  }

  test('captures the same header section and passes the same bytes wherever the chunks are cut; refuses only a section over the limit', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.integer({ min: 0, max: 200 }), cuts, async (bytes, maxBytes, at) => {
        const section = modelSection(bytes);
        const capture = new HeaderCapture(maxBytes);
        const outcome = await through(capture, bytes, at);
        if (section.length > maxBytes) {
          assert.ok('error' in outcome, `a ${section.length}-byte section passed a ${maxBytes}-byte limit`);
          assert.equal(String(outcome.error), SmtpReply.headerSectionTooBig(maxBytes).toString());
          return;
        }
        assert.ok(
          'out' in outcome,
          `a ${section.length}-byte section refused under a ${maxBytes}-byte limit: ${'error' in outcome ? String(outcome.error) : ''}`,
        );
        assert.ok(outcome.out.equals(bytes), 'passes byte for byte');
        assert.equal(capture.headers.toString('latin1'), section.toString('latin1'));
      }),
      runs(1500),
    );
  });
});

describe('ForgedResultsFilter (pipeline/forged-results-filter)', () => {
  const OURS = 'gateway.test';
  const fold = (text: string, folds: boolean[]) =>
    text.split(' ').reduce((acc, word, i) => (i === 0 ? word : `${acc}${folds[i % folds.length] ? '\r\n\t' : ' '}${word}`), '');
  /** A field claiming our authserv-id, in the spellings RFC 8601 §2.2 and RFC 5322 §4.5 allow. */
  const forged = fc
    .tuple(
      fc.constantFrom('Authentication-Results', 'authentication-results', 'AUTHENTICATION-RESULTS', 'Authentication-Results '),
      fc.constantFrom(OURS, OURS.toUpperCase(), `"${OURS}"`, `(forged) ${OURS}`, `(nested (comment)) ${OURS} 1`),
      fc.stringMatching(/^[a-z]{2,6}=(pass|fail) [a-z.]{1,12}=[a-z@.]{1,16}$/),
    )
    .map(([name, id, result]) => ({ ours: true, text: `${name}: ${id}; ${result}` }));
  const kept = fc.oneof(
    fc.constantFrom('other.test', `${OURS}.evil`, `"${OURS}.x"`, `x${OURS}`).map((id) => ({ ours: false, text: `Authentication-Results: ${id}; spf=pass` })),
    fc.constantFrom('X-Authentication-Results', 'Subject', 'Received', 'From').map((name) => ({ ours: false, text: `${name}: ${OURS}; dkim=pass` })),
    fc.stringMatching(/^[A-Za-z-]{1,10}: [!-~][ -~]{0,30}$/).map((text) => ({ ours: false, text })),
  );
  const message = fc.record({
    fields: fc.array(fc.tuple(fc.oneof(forged, kept), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 })), { maxLength: 8 }),
    body: fc.option(
      fc.array(
        fc.oneof(
          fc.stringMatching(/^[ -~]{0,30}$/),
          forged.map((f) => f.text),
        ),
        { maxLength: 5 },
      ),
    ),
  });

  test('removes exactly the fields claiming our authserv-id and passes everything else byte for byte, wherever the chunks are cut', async () => {
    await fc.assert(
      fc.asyncProperty(message, cuts, async ({ fields, body }, at) => {
        const lines = fields.map(([f, folds]) => ({ ours: f.ours, text: `${fold(f.text, folds)}\r\n` }));
        const rest = body === null ? '' : `\r\n${body.map((l) => `${l}\r\n`).join('')}`;
        const input = latin1([...lines.map((l) => l.text), rest]);
        const expected = latin1([...lines.filter((l) => !l.ours).map((l) => l.text), rest]);
        const outcome = await through(new ForgedResultsFilter(OURS), input, at);
        assert.ok('out' in outcome);
        assert.equal(outcome.out.toString('latin1'), expected.toString('latin1'));
        const again = await through(new ForgedResultsFilter(OURS), outcome.out, at);
        assert.ok('out' in again && again.out.equals(outcome.out), 'filtering twice changes nothing');
      }),
      runs(1500),
    );
  });

  test('never fails and never grows any input, CRLF discipline or not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), cuts, async (bytes, at) => {
        const input = Buffer.from(bytes);
        const single = await through(new ForgedResultsFilter(OURS), input);
        const chunked = await through(new ForgedResultsFilter(OURS), input, at);
        assert.ok('out' in single && 'out' in chunked);
        assert.ok(single.out.length <= input.length);
        assert.ok(chunked.out.equals(single.out), 'the same output wherever the chunks are cut');
      }),
      runs(1500),
    );
  });
});

describe('Subject (pipeline/header-subject)', () => {
  /**
   * RFC 2047 encoded-words, at most 30 octets of text each and never splitting a character
   * (§5); written here because libmime's encodeWords splits surrogate pairs into U+FFFD.
   */
  function encodeWords(text: string, encoding: 'Q' | 'B'): string {
    const words: string[] = [];
    let chunk = '';
    for (const char of text) {
      if (Buffer.byteLength(chunk + char) > 30) {
        words.push(chunk);
        chunk = '';
      }
      chunk += char;
    }
    words.push(chunk);
    const q = (bytes: Buffer) =>
      [...bytes]
        .map((b) =>
          /[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : b === 0x20 ? '_' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
        )
        .join('');
    return words.map((w) => `=?UTF-8?${encoding}?${encoding === 'B' ? Buffer.from(w).toString('base64') : q(Buffer.from(w))}?=`).join(' ');
  }

  test('never throws; a subject is null or at most 998 characters', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 2000 }),
          fc.string({ maxLength: 100 }).map((s) => `Subject: =?utf-8?${s}?=`),
        ),
        (text) => {
          const subject = subjectOf(Buffer.from(text));
          assert.ok(subject === null || subject.length <= 998);
        },
      ),
      runs(1500),
    );
  });

  // RFC 2047: what a mail program encodes (Q or B, split into several words, folded) reads back as written.
  test('an encoded Subject decodes to the text that was encoded', () => {
    const text = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 120 })
      .map((s) => s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim())
      .filter((s) => s !== '' && !s.includes('=?'));
    fc.assert(
      fc.property(text, fc.constantFrom('Q', 'B') as fc.Arbitrary<'Q' | 'B'>, fc.boolean(), (subject, encoding, folded) => {
        const encoded = encodeWords(subject, encoding);
        const value = folded ? encoded.replace(/\?= =\?/g, '?=\r\n =?') : encoded;
        assert.equal(subjectOf(Buffer.from(`From: a@example.com\r\nSubject: ${value}\r\nTo: b@example.net`)), subject);
      }),
      runs(1000),
    );
  });
});
