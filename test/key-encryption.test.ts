import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { keyEncryption, keyIdOf, keyRing, UnsealError } from '../src/secure/key-encryption.js';
import { keyEncryptionFor, loadKeyEncryptionKey, loadKeys, MASTER_KEY_FILE, PREVIOUS_KEYS_DIR } from '../src/secure/master-key.js';
import { sealV1 } from './support/legacy-seal.js';
import { tempDir } from './support/temp-dir.js';

const KEY = randomBytes(32);
const CONTEXT = { purpose: 'connection-secret', id: 'conn_one' };
const FORMAT = /^v2\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/;

/** Replaces one base64url part of a sealed value (1 key id, 2 IV, 3 tag, 4 ciphertext) with the same bytes, one bit flipped. */
function flipBit(sealed: string, part: 1 | 2 | 3 | 4): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('key encryption (AES-256-GCM under the key-encryption key)', () => {
  const kek = keyEncryption(KEY);

  test('seals to v2.<kid>.<iv>.<tag>.<ciphertext> and opens back; a fresh IV every time', () => {
    const first = kek.seal('relay-pass', CONTEXT);
    const second = kek.seal('relay-pass', CONTEXT);
    assert.match(first, FORMAT);
    assert.equal(first.split('.')[1], keyIdOf(KEY), 'names the key it was sealed under');
    assert.notEqual(first.split('.')[2], second.split('.')[2], 'IVs differ');
    assert.notEqual(first, second);
    assert.equal(kek.open(first, CONTEXT).toString('utf8'), 'relay-pass');
    assert.equal(kek.open(second, CONTEXT).toString('utf8'), 'relay-pass');
    assert.doesNotMatch(first, /relay-pass/);
  });

  // Each case must fail to open: GCM authenticates the IV, the ciphertext and the AAD.
  const OTHER = randomBytes(32);
  const refused: [string, (sealed: string) => { sealed: string; context?: typeof CONTEXT; key?: Buffer; previous?: Buffer[] }][] = [
    ['a flipped ciphertext bit', (s) => ({ sealed: flipBit(s, 4) })],
    ['a flipped tag bit', (s) => ({ sealed: flipBit(s, 3) })],
    ['a flipped IV bit', (s) => ({ sealed: flipBit(s, 2) })],
    ['a flipped key id bit', (s) => ({ sealed: flipBit(s, 1) })],
    ['the key id of another key of the ring', (s) => ({ sealed: s.replace(keyIdOf(KEY), keyIdOf(OTHER)), key: OTHER, previous: [KEY] })],
    ['a downgrade to v1 (the key id dropped)', (s) => ({ sealed: `v1.${s.split('.').slice(2).join('.')}` })],
    ['a truncated ciphertext', (s) => ({ sealed: s.slice(0, -2) })],
    ['another row id in the AAD (a value copied to another row)', (s) => ({ sealed: s, context: { ...CONTEXT, id: 'conn_two' } })],
    ['another purpose in the AAD (a value copied to another column)', (s) => ({ sealed: s, context: { ...CONTEXT, purpose: 'dkim-key' } })],
    ['another key-encryption key', (s) => ({ sealed: s, key: randomBytes(32) })],
  ];
  for (const [name, alter] of refused) {
    test(`refuses ${name}`, () => {
      const altered = alter(kek.seal('relay-pass', CONTEXT));
      const opener = altered.key ? keyRing(altered.key, altered.previous ?? []) : kek;
      assert.throws(
        () => opener.open(altered.sealed, altered.context ?? CONTEXT),
        (err: Error) => err instanceof UnsealError && /cannot be opened/.test(err.message),
      );
    });
  }

  test('refuses what is not a sealed value of a known version', () => {
    for (const bad of [
      '',
      'relay-pass',
      'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
      'v3.AAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
      'v1.short.tag.ct',
    ]) {
      assert.throws(
        () => kek.open(bad, CONTEXT),
        (err: Error) => err instanceof UnsealError && /not a sealed value/.test(err.message),
        bad,
      );
    }
  });

  test('refuses a key that is not 256 bits', () => {
    assert.throws(() => keyEncryption(randomBytes(16)), /must be 32 bytes, not 16/);
    assert.throws(() => keyRing(KEY, [randomBytes(31)]), /must be 32 bytes, not 31/);
  });
});

describe('key ring (a current key and the previous ones)', () => {
  const OLD = randomBytes(32);
  const OLDER = randomBytes(32);
  const ring = keyRing(KEY, [OLD, OLDER]);

  test('key ids are stable, differ per key and do not contain the key', () => {
    assert.equal(keyIdOf(KEY), keyIdOf(Buffer.from(KEY)));
    assert.notEqual(keyIdOf(KEY), keyIdOf(OLD));
    assert.match(keyIdOf(KEY), /^[A-Za-z0-9_-]{11}$/);
    assert.equal(ring.currentKeyId, keyIdOf(KEY));
    assert.deepEqual(ring.previousKeyIds, [keyIdOf(OLD), keyIdOf(OLDER)]);
    assert.notEqual(keyIdOf(KEY), KEY.subarray(0, 8).toString('base64url'), 'a hash of the key, not a piece of it');
  });

  test('seals under the current key only, and opens what each previous key sealed', () => {
    assert.equal(ring.seal('x', CONTEXT).split('.')[1], keyIdOf(KEY));
    for (const key of [OLD, OLDER]) {
      const sealed = keyEncryption(key).seal('from before', CONTEXT);
      assert.equal(ring.open(sealed, CONTEXT).toString('utf8'), 'from before');
      assert.equal(ring.sealedUnder(sealed, CONTEXT), keyIdOf(key));
    }
  });

  test('opens v1 values written by the old code under the current key or a previous one, and names the key that opened them', () => {
    for (const key of [KEY, OLD, OLDER]) {
      const legacy = sealV1(key, 'legacy', CONTEXT);
      assert.equal(ring.open(legacy, CONTEXT).toString('utf8'), 'legacy');
      assert.equal(ring.sealedUnder(legacy, CONTEXT), keyIdOf(key));
      assert.throws(() => ring.open(legacy, { ...CONTEXT, id: 'conn_two' }), /cannot be opened/, 'the AAD still binds the row');
    }
    const stranger = sealV1(randomBytes(32), 'legacy', CONTEXT);
    assert.throws(() => ring.open(stranger, CONTEXT), UnsealError);
    assert.equal(ring.sealedUnder(stranger, CONTEXT), undefined);
  });

  test('needsRewrap: everything but v2 under the current key', () => {
    assert.equal(ring.needsRewrap(ring.seal('x', CONTEXT)), false);
    assert.equal(ring.needsRewrap(keyEncryption(OLD).seal('x', CONTEXT)), true);
    assert.equal(ring.needsRewrap(sealV1(KEY, 'x', CONTEXT)), true, 'v1 under the current key still moves to v2');
    assert.equal(ring.needsRewrap(keyEncryption(randomBytes(32)).seal('x', CONTEXT)), true);
  });

  test('without the previous key, what it sealed does not open', () => {
    const sealed = keyEncryption(OLD).seal('x', CONTEXT);
    assert.throws(
      () => keyRing(KEY, [OLDER]).open(sealed, CONTEXT),
      (err: Error) => err instanceof UnsealError && /cannot be opened/.test(err.message),
    );
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

  test('without it, keys/master.key is read and never made here: a missing one is a configuration error naming the file and the fix', async () => {
    const dir = await tempDir('relaygate-kek-');
    try {
      const config = { masterKey: undefined, dataDir: dir.path };
      const path = join(dir.path, MASTER_KEY_FILE);
      assert.throws(
        () => loadKeyEncryptionKey(config),
        (err: Error) => err instanceof ConfigError && /keys\/master\.key .*is missing.*\n {4}fix: restore keys\/ from the backup/.test(err.message),
      );
      assert.equal(existsSync(path), false, 'no key was made (only an empty store gets one: test/start-key-check.test.ts)');
      const key = randomBytes(32);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${key.toString('base64')}\n`);
      assert.deepEqual(loadKeyEncryptionKey(config), key);
    } finally {
      await dir.cleanup();
    }
  });

  test('previous keys come from previousMasterKeys and from data/keys/previous/*.key; the ring opens what each sealed', async () => {
    const dir = await tempDir('relaygate-kek-');
    try {
      const [fromEnv, fromFile] = [randomBytes(32), randomBytes(32)];
      mkdirSync(join(dir.path, PREVIOUS_KEYS_DIR), { recursive: true });
      writeFileSync(join(dir.path, PREVIOUS_KEYS_DIR, 'old.key'), `${fromFile.toString('base64')}\n`);
      writeFileSync(join(dir.path, PREVIOUS_KEYS_DIR, 'notes.txt'), 'not a key file, not read');
      writeFileSync(join(dir.path, MASTER_KEY_FILE), `${randomBytes(32).toString('base64')}\n`);
      const config = loadConfig({ env: { RELAYGATE_DATA_DIR: dir.path, RELAYGATE_PREVIOUS_MASTER_KEYS: ` ${fromEnv.toString('base64')} ,` } });
      assert.deepEqual(config.previousMasterKeys, [fromEnv.toString('base64')]);

      const keys = loadKeys(config);
      assert.equal(keys.current.source, MASTER_KEY_FILE);
      assert.deepEqual(
        keys.previous.map((k) => [k.keyId, k.source]),
        [
          [keyIdOf(fromEnv), 'previousMasterKeys entry 1 (RELAYGATE_PREVIOUS_MASTER_KEYS)'],
          [keyIdOf(fromFile), join(PREVIOUS_KEYS_DIR, 'old.key')],
        ],
      );
      const ring = keyEncryptionFor(config);
      for (const key of [fromEnv, fromFile]) assert.equal(ring.open(keyEncryption(key).seal('old', CONTEXT), CONTEXT).toString('utf8'), 'old');
      assert.equal(ring.seal('new', CONTEXT).split('.')[1], keys.current.keyId);
    } finally {
      await dir.cleanup();
    }
  });

  test('a bad previous key is a configuration error naming the key and the fix, never showing the value', async () => {
    const good = randomBytes(32).toString('base64');
    const message = configProblems(() => loadConfig({ env: { RELAYGATE_PREVIOUS_MASTER_KEYS: `${good},c2VjcmV0LWJ1dC1zaG9ydA==` } }));
    assert.match(
      message,
      /previousMasterKeys = "\*\*\*" \(from environment variable RELAYGATE_PREVIOUS_MASTER_KEYS\): entry 2 of 2 is not base64 of 32 bytes\n {4}fix: set previousMasterKeys to the key-encryption keys used before a rotation, each base64 of 32 bytes/,
    );
    assert.ok(!message.includes(good) && !message.includes('c2VjcmV0LWJ1dC1zaG9ydA'), 'no key material in the error');

    const dir = await tempDir('relaygate-kek-');
    try {
      mkdirSync(join(dir.path, PREVIOUS_KEYS_DIR), { recursive: true });
      writeFileSync(join(dir.path, PREVIOUS_KEYS_DIR, 'broken.key'), 'not a key\n');
      writeFileSync(join(dir.path, MASTER_KEY_FILE), `${randomBytes(32).toString('base64')}\n`);
      const fileMessage = configProblems(() => loadKeys({ masterKey: undefined, dataDir: dir.path }));
      assert.match(fileMessage, /keys\/previous\/broken\.key \(from the data directory .*\): is not a readable key-encryption key/);
      assert.match(fileMessage, /fix: restore it from backup \(base64 of 32 bytes on one line\)/);
    } finally {
      await dir.cleanup();
    }
  });
});

function configProblems(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  assert.fail('accepted');
}
