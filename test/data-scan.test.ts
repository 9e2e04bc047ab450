/**
 * The gateway's DATA scan (src/smtp/data-scan.ts) stands in for smtp-server's byte loop in
 * the parser that ends DATA, where SMTP smuggling is decided. For any input, cut into chunks
 * anywhere, both must give the same message bytes, end it at the same place and hand the
 * same pipelined commands to the session after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { useNativeDataScan } from '../src/smtp/data-scan.js';
import { runs } from './support/property-runs.js';

type Feed = (chunk: Buffer, done: () => void) => void;
const prototype = SMTPStream.prototype as unknown as { _feedDataStream: Feed };
const smtpServers = prototype._feedDataStream;
useNativeDataScan();
const ours = prototype._feedDataStream;

interface Parsed {
  data: string;
  dataBytes: number;
  commands: string[];
}

/** Feeds `chunks` to an SMTPStream in data mode, as a session would after DATA, and reads what it makes of them. */
async function parse(feed: Feed, chunks: Buffer[]): Promise<Parsed> {
  prototype._feedDataStream = feed;
  try {
    const stream = new SMTPStream();
    const commands: string[] = [];
    stream.oncommand = (command: Buffer, callback?: () => void) => {
      commands.push(command.toString('latin1'));
      callback?.();
    };
    const data = stream.startDataMode();
    const parts: Buffer[] = [];
    data.on('data', (part: Buffer) => parts.push(part));
    data.on('end', () => stream.continue());
    for (const chunk of chunks) await new Promise<void>((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve) => stream.end(resolve));
    return { data: Buffer.concat(parts).toString('latin1'), dataBytes: stream.dataBytes, commands };
  } finally {
    prototype._feedDataStream = ours;
  }
}

// Bodies of the bytes that matter, some with the end of data and commands after it.
const piece = fc.oneof(
  fc.constantFrom('\r', '\n', '.', 'a', ' '),
  fc.constantFrom('\r\n', '\r\n.', '..', '.\r\n', '\r\n..\r\n', '\r\n.\r\n', 'QUIT\r\n', 'RSET\r\nMAIL FROM:<a@b>\r\n'),
);
const input = fc.array(piece, { maxLength: 120 }).map((pieces) => pieces.join(''));
const cuts = fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 });

function split(text: string, sizes: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

test('the same message, the same end of data and the same commands after it as smtp-server, for any input cut anywhere', async () => {
  await fc.assert(
    fc.asyncProperty(input, cuts, async (text, sizes) => {
      const chunks = split(text, sizes);
      assert.deepEqual(await parse(ours, chunks), await parse(smtpServers, chunks));
    }),
    runs(3000),
  );
});

test('a large message with dot-stuffed lines and the end of data in the middle of a chunk', async () => {
  const lines = Array.from({ length: 30_000 }, (_, i) => (i % 9 === 0 ? `..line ${i}` : `line ${i} of the message`));
  const text = `${lines.join('\r\n')}\r\n.\r\nQUIT\r\n`;
  const chunks = split(text, [65_536, 7, 16_384]);
  const got = await parse(ours, chunks);
  assert.deepEqual(got, await parse(smtpServers, chunks));
  assert.ok(got.data.includes('\r\n.line 9 of') || got.data.includes('\r\n.line 9\r\n'));
  assert.deepEqual(got.commands, ['QUIT']);
});
