import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { DurableWriter, HOLD_BYTES } from '../src/queue/durable-writer.js';
import { tempDir } from './support/temp-dir.js';

/** Writes `chunks` through a DurableWriter into a new file of `dir`; returns what the file holds and what the writer counted. */
async function written(dir: string, name: string, chunks: Buffer[]): Promise<{ file: Buffer; counted: number }> {
  const path = join(dir, name);
  const writer = new DurableWriter(openSync(path, 'wx', 0o600));
  await pipeline(Readable.from(chunks, { objectMode: false }), writer);
  return { file: readFileSync(path), counted: writer.bytesWritten };
}

// The writer holds the first chunks back and writes them in one writev: whatever the sizes,
// the file must hold exactly the bytes, in order, once finish has resolved.
test('every body reaches the file whole and in order: held, past the hold, and in many tiny chunks', async () => {
  const dir = await tempDir('relaygate-durable-writer-');
  try {
    const shapes: Record<string, Buffer[]> = {
      'one small chunk': [randomBytes(10 * 1024)],
      'small chunks within the hold': Array.from({ length: 5 }, () => randomBytes(2000)),
      'a body past the hold': Array.from({ length: 40 }, (_, i) => randomBytes(5000 + i)),
      'one chunk larger than the hold': [randomBytes(100), randomBytes(300 * 1024), randomBytes(7)],
      'more tiny chunks than are held': Array.from({ length: 500 }, () => randomBytes(3)),
      empty: [],
    };
    for (const [name, chunks] of Object.entries(shapes)) {
      const expected = Buffer.concat(chunks);
      const { file, counted } = await written(dir.path, name.replaceAll(' ', '-'), chunks);
      assert.equal(file.length, expected.length, name);
      assert.ok(file.equals(expected), `${name}: the file differs from what was written`);
      assert.equal(counted, expected.length, name);
    }
  } finally {
    await dir.cleanup();
  }
});

test('a write that fails fails the stream, whether the chunks were held or not', async () => {
  const dir = await tempDir('relaygate-durable-writer-');
  try {
    for (const chunks of [[randomBytes(100)], [randomBytes(200 * 1024)]]) {
      // A read-only descriptor: every write fails with EBADF.
      const path = join(dir.path, `ro-${chunks[0]?.length}`);
      openSync(path, 'w');
      const writer = new DurableWriter(openSync(path, 'r'));
      await assert.rejects(pipeline(Readable.from(chunks, { objectMode: false }), writer), { code: 'EBADF' });
    }
  } finally {
    await dir.cleanup();
  }
});

test('a body goes to the file HOLD_BYTES at a time: 1 MiB in 16 KiB records takes a few writes, not 64', async (t) => {
  const dir = await tempDir('relaygate-durable-writer-');
  // writeHeld is the writer's one way to the file (a writev of what it holds).
  const writes = t.mock.method(DurableWriter.prototype as unknown as { writeHeld(cb: () => void): void }, 'writeHeld');
  try {
    const chunks = Array.from({ length: 64 }, () => randomBytes(16 * 1024));
    const { file } = await written(dir.path, 'batched', chunks);
    assert.ok(file.equals(Buffer.concat(chunks)));
    // One per full hold, and the final call finding nothing left.
    const most = Math.ceil((64 * 16 * 1024) / HOLD_BYTES) + 1;
    assert.ok(writes.mock.callCount() <= most, `${writes.mock.callCount()} writes for 64 chunks`);
  } finally {
    await dir.cleanup();
  }
});
