import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { keyEncryption, UnsealError } from '../src/secure/key-encryption.js';
import { loadKeyEncryptionKey, MASTER_KEY_FILE } from '../src/secure/master-key.js';
import { tempDir } from './support/temp-dir.js';

const KEY = randomBytes(32);
const CONTEXT = { purpose: 'connection-secret', id: 'conn_one' };
const FORMAT = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/;

/** Replaces one base64url part of a sealed value with the same bytes, one bit flipped. */
function flipBit(sealed: string, part: 1 | 2 | 3): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('key encryption (AES-256-GCM under the key-encryption key)', () => {
  const kek = keyEncryption(KEY);

  test('seals to v1.<iv>.<tag>.<ciphertext> and opens back; a fresh IV every time', () => {
    const first = kek.seal('relay-pass', CONTEXT);
    const second = kek.seal('relay-pass', CONTEXT);
    assert.match(first, FORMAT);
    assert.notEqual(first.split('.')[1], second.split('.')[1], 'IVs differ');
    assert.notEqual(first, second);
    assert.equal(kek.open(first, CONTEXT).toString('utf8'), 'relay-pass');
    assert.equal(kek.open(second, CONTEXT).toString('utf8'), 'relay-pass');
    assert.doesNotMatch(first, /relay-pass/);
  });

  // Each case must fail to open: GCM authenticates the IV, the ciphertext and the AAD.
  const refused: [string, (sealed: string) => { sealed: string; context?: typeof CONTEXT; key?: Buffer }][] = [
    ['a flipped ciphertext bit', (s) => ({ sealed: flipBit(s, 3) })],
    ['a flipped tag bit', (s) => ({ sealed: flipBit(s, 2) })],
    ['a flipped IV bit', (s) => ({ sealed: flipBit(s, 1) })],
    ['a truncated ciphertext', (s) => ({ sealed: s.slice(0, -2) })],
    ['another row id in the AAD (a value copied to another row)', (s) => ({ sealed: s, context: { ...CONTEXT, id: 'conn_two' } })],
    ['another purpose in the AAD (a value copied to another column)', (s) => ({ sealed: s, context: { ...CONTEXT, purpose: 'dkim-key' } })],
    ['another key-encryption key', (s) => ({ sealed: s, key: randomBytes(32) })],
  ];
  for (const [name, alter] of refused) {
    test(`refuses ${name}`, () => {
      const altered = alter(kek.seal('relay-pass', CONTEXT));
      const opener = altered.key ? keyEncryption(altered.key) : kek;
      assert.throws(
        () => opener.open(altered.sealed, altered.context ?? CONTEXT),
        (err: Error) => err instanceof UnsealError && /cannot be opened/.test(err.message),
      );
    });
  }

  test('refuses what is not a sealed value of a known version', () => {
    for (const bad of ['', 'relay-pass', 'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA', 'v1.short.tag.ct']) {
      assert.throws(
        () => kek.open(bad, CONTEXT),
        (err: Error) => err instanceof UnsealError && /not a sealed value/.test(err.message),
        bad,
      );
    }
  });

  test('refuses a key that is not 256 bits', () => {
    assert.throws(() => keyEncryption(randomBytes(16)), /must be 32 bytes, not 16/);
  });
});

describe('the key-encryption key', () => {
  test('RELAYGATE_MASTER_KEY wins, and no key file is written', async () => {
    const dir = await tempDir('relaygate-kek-');
    try {
      const masterKey = randomBytes(32).toString('base64');
      assert.deepEqual(loadKeyEncryptionKey({ masterKey, dataDir: dir.path }), Buffer.from(masterKey, 'base64'));
      assert.equal(existsSync(join(dir.path, MASTER_KEY_FILE)), false);
    } finally {
      await dir.cleanup();
    }
  });

  test('without it, a key is generated into data/keys/master.key (mode 0600) on first use and kept', async () => {
    const dir = await tempDir('relaygate-kek-');
    try {
      const first = loadKeyEncryptionKey({ masterKey: undefined, dataDir: dir.path });
      const path = join(dir.path, MASTER_KEY_FILE);
      assert.equal(first.length, 32);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(loadKeyEncryptionKey({ masterKey: undefined, dataDir: dir.path }), first);
    } finally {
      await dir.cleanup();
    }
  });
});
