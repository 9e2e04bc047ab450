import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { BodyEncryptor, bodyDecryptor, newDataKey, openWithDataKey, sealWithDataKey } from '../src/secure/message-cipher.js';

async function encrypt(key: Buffer, id: string, plaintext: Buffer) {
  const encryptor = new BodyEncryptor(key, id);
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([plaintext.subarray(0, 7), plaintext.subarray(7)]), encryptor, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  });
  return { ciphertext: Buffer.concat(chunks), seal: encryptor.seal() };
}

const decrypt = async (key: Buffer, id: string, ciphertext: Buffer, seal: { iv: string; tag: string }) =>
  Buffer.concat(
    await Readable.from([ciphertext])
      .pipe(bodyDecryptor(key, id, seal))
      .toArray(),
  );

describe('secure message cipher', () => {
  const body = Buffer.from('Subject: results\r\n\r\nglucose 5.4 mmol/l\r\n');

  it('round-trips a streamed body, and the ciphertext is as long as the plaintext (GCM), with nothing of it readable', async () => {
    const key = newDataKey();
    const { ciphertext, seal } = await encrypt(key, 'MSG1', body);
    assert.equal(ciphertext.length, body.length);
    assert.ok(!ciphertext.includes('glucose'));
    assert.deepEqual(await decrypt(key, 'MSG1', ciphertext, seal), body);
  });

  it('refuses an altered byte, another message id, or another key', async () => {
    const key = newDataKey();
    const { ciphertext, seal } = await encrypt(key, 'MSG1', body);
    const altered = Buffer.from(ciphertext);
    altered[5] = (altered[5] ?? 0) ^ 1;
    await assert.rejects(decrypt(key, 'MSG1', altered, seal), /does not authenticate/);
    await assert.rejects(decrypt(key, 'MSG2', ciphertext, seal), /does not authenticate/);
    await assert.rejects(decrypt(newDataKey(), 'MSG1', ciphertext, seal), /does not authenticate/);
  });

  it('seals small fields under the data key, bound to the message and purpose', () => {
    const key = newDataKey();
    const sealed = sealWithDataKey(key, 'MSG1', 'meta', '{"subject":"x"}');
    assert.equal(openWithDataKey(key, 'MSG1', 'meta', sealed), '{"subject":"x"}');
    assert.throws(() => openWithDataKey(key, 'MSG2', 'meta', sealed));
    assert.throws(() => openWithDataKey(key, 'MSG1', 'other', sealed));
  });
});
