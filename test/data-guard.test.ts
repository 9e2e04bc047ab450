import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { DataGuard } from '../src/pipeline/data-guard.js';

/** Feeds the chunks through a guard; returns the bytes passed on, or the reply it failed with. */
async function guard(chunks: string[], maxBytes = 10_000): Promise<string> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString('latin1');
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))), new DataGuard(maxBytes), sink);
    return out;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

const line = (n: number) => `${'x'.repeat(n)}\r\n`;
const BARE = 'refused: 5.5.2 Message contains bare CR or LF; lines must end with CRLF (RFC 5321 section 2.3.8)';
const LONG = 'refused: 5.5.2 Message contains a line longer than 998 octets (RFC 5321 section 4.5.3.1.6)';

// Each case: the chunks as they arrive from the socket, and what the guard must do.
const cases: { name: string; chunks: string[]; expect: string }[] = [
  { name: 'CRLF lines pass unchanged', chunks: ['Subject: a\r\n\r\nbody\r\n'], expect: 'Subject: a\r\n\r\nbody\r\n' },
  { name: 'CRLF split across chunks passes', chunks: ['Subject: a\r', '\n\r\nbody\r', '\n'], expect: 'Subject: a\r\n\r\nbody\r\n' },
  { name: 'bare LF', chunks: ['Subject: a\n\r\n'], expect: BARE },
  { name: 'bare LF at the start of a chunk', chunks: ['Subject: a', '\nmore\r\n'], expect: BARE },
  { name: 'bare CR inside a line', chunks: ['Subject: a\rb\r\n'], expect: BARE },
  { name: 'CR at the end of a chunk not followed by LF', chunks: ['body\r', 'x\r\n'], expect: BARE },
  { name: 'CR as the very last byte', chunks: ['body\r\nlast\r'], expect: BARE },
  { name: 'the smuggling sequence LF.LF', chunks: ['a\r\n\n.\nMAIL FROM:<evil@x.test>\r\n'], expect: BARE },
  { name: 'the smuggling sequence CR.CR', chunks: ['a\r\n\r.\rMAIL FROM:<evil@x.test>\r\n'], expect: BARE },
  { name: 'NUL', chunks: ['a\u0000b\r\n'], expect: 'refused: 5.6.0 Message contains a NUL octet' },
  { name: '998 octets is the longest line allowed', chunks: [line(998)], expect: line(998) },
  { name: '999 octets is too long', chunks: [line(999)], expect: LONG },
  { name: 'a long line split across chunks', chunks: ['x'.repeat(600), 'x'.repeat(399), '\r\n'], expect: LONG },
  { name: 'a long line with no end yet', chunks: ['x'.repeat(500), 'x'.repeat(500)], expect: LONG },
  { name: '998 octets split with the CR alone in the next chunk', chunks: ['x'.repeat(998), '\r', '\n'], expect: line(998) },
  { name: 'over the size limit', chunks: [line(60), line(60)], expect: 'refused: 5.3.4 Message size exceeds fixed maximum message size of 100 bytes' },
];

for (const c of cases) {
  test(`data guard: ${c.name}`, async () => {
    assert.equal(await guard(c.chunks, c.name.includes('size') ? 100 : 10_000), c.expect);
  });
}
