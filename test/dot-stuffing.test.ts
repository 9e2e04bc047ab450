/**
 * The gateway's dot-stuffing (src/delivery/dot-stuffing.ts) stands in for nodemailer's
 * per-byte loop: for every input, split into chunks anywhere, the bytes on the wire must be
 * the very bytes nodemailer's own DataStream sends, the final dot included.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';
import { useNativeDotStuffing } from '../src/delivery/dot-stuffing.js';
import { runs } from './support/property-runs.js';

type Transform = (this: DataStream, chunk: Buffer, encoding: BufferEncoding, done: () => void) => void;
const prototype = DataStream.prototype as unknown as { _transform: Transform };
const nodemailers = prototype._transform;
useNativeDotStuffing();
const ours = prototype._transform;

async function onTheWire(transform: Transform, chunks: Buffer[]): Promise<{ bytes: Buffer; inCount: number; outCount: number }> {
  prototype._transform = transform;
  try {
    const stream = new DataStream();
    const out = Readable.from(chunks, { objectMode: false }).pipe(stream).toArray();
    const bytes = Buffer.concat(await out);
    return { bytes, inCount: stream.inByteCount, outCount: stream.outByteCount };
  } finally {
    prototype._transform = ours;
  }
}

// Mostly the bytes that matter (CR, LF, dot), some others, cut into chunks of any length.
const body = fc.array(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61, 0x20), { maxLength: 300 });
const cuts = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });

function split(bytes: number[], sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    chunks.push(Buffer.from(bytes.slice(at, at + size)));
    at += size;
  }
  return chunks;
}

test('the same bytes as nodemailer for any body cut anywhere: dots doubled, bare CR and LF made CRLF, the final dot', async () => {
  await fc.assert(
    fc.asyncProperty(body, cuts, async (bytes, sizes) => {
      const chunks = split(bytes, sizes);
      const expected = await onTheWire(nodemailers, chunks);
      const got = await onTheWire(ours, chunks);
      assert.deepEqual(got.bytes.toString('latin1'), expected.bytes.toString('latin1'));
      assert.equal(got.inCount, expected.inCount);
      assert.equal(got.outCount, expected.outCount);
    }),
    runs(3000),
  );
});

test('a large CRLF body with dotted lines, as delivery sends it', async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? `.line ${i}` : i % 11 === 0 ? '.' : `line ${i} of the body`));
  const text = `${lines.join('\r\n')}\r\n`;
  const chunks = split([...Buffer.from(text)], [65_536, 1, 3, 16_384]);
  const expected = await onTheWire(nodemailers, chunks);
  const got = await onTheWire(ours, chunks);
  assert.ok(got.bytes.equals(expected.bytes));
  assert.ok(got.bytes.toString().includes('\r\n..line 7\r\n'));
});
