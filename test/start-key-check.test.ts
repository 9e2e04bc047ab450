import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { keyIdOf } from '../src/secure/key-encryption.js';
import { keyEncryptionFor, loadKeyEncryptionKey, MASTER_KEY_FILE } from '../src/secure/master-key.js';
import { recordKeyEncryptionKey } from '../src/store/shared-keys.js';
import { gatewayEnv, runCli, spawnGateway, spawnStart } from './support/gateway-process.js';
import { plantConnection, plantDkimKey, plantWebhookTarget } from './support/sealed-rows.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { onlyOn } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

/** EX_CONFIG (sysexits.h). */
const EX_CONFIG = 78;

/**
 * A store as a running gateway leaves it: 4 values sealed (v2) under the generated key — a
 * smarthost secret, a webhook secret and its previous one, a DKIM key — and 1 smarthost
 * secret in the old v1 format, which names no key.
 */
async function sealedStore(dir: TempDir): Promise<{ env: NodeJS.ProcessEnv; keyId: string; keyFile: string }> {
  const env = gatewayEnv(dir.path);
  const config = loadConfig({ env });
  const store = await openStore(config);
  try {
    const ring = { kind: 'ring' as const, ring: keyEncryptionFor(config) };
    await plantConnection(store.db, 'conn_a', ring);
    await plantConnection(store.db, 'conn_legacy', { kind: 'v1', key: loadKeyEncryptionKey(config) });
    await plantWebhookTarget(store.db, 'itg_a', ring, ring);
    await plantDkimKey(store.db, 'dkim_a', ring);
    return { env, keyId: ring.ring.currentKeyId, keyFile: join(dir.path, MASTER_KEY_FILE) };
  } finally {
    await store.close();
  }
}

/** Starts the gateway and reports how the start ended: its exit code, or 'listening' (and it is stopped). */
async function startOutcome(env: NodeJS.ProcessEnv): Promise<{ outcome: number | string; output: string }> {
  const start = spawnStart(env);
  const listening = waitFor(() => existsSync(join(env.RELAYGATE_DATA_DIR as string, 'listeners.json')) || undefined, {
    what: 'the gateway to listen or exit',
    timeoutMs: 90_000,
  }).then(() => 'listening' as const);
  listening.catch(() => undefined);
  try {
    return { outcome: await Promise.race([start.exited, listening]), output: start.output() };
  } finally {
    if (start.child.exitCode === null && start.child.signalCode === null) {
      start.child.kill('SIGTERM');
      await start.exited;
    }
  }
}

describe('relaygate start with sealed data and a key that cannot open it', () => {
  test('keys/master.key missing: start exits 78 naming the key id, the values it seals and the fix, and writes no new key', async () => {
    const dir = await tempDir();
    try {
      const { env, keyId, keyFile } = await sealedStore(dir);
      rmSync(keyFile);

      const { outcome, output } = await startOutcome(env);
      assert.equal(outcome, EX_CONFIG, output);
      assert.match(output, /keys\/master\.key .*is missing/);
      assert.match(
        output,
        new RegExp(
          `the database holds 5 sealed values: 4 under key-encryption key ${keyId} \\(smarthost secrets: 1, webhook secrets: 1, previous webhook secrets: 1, DKIM private keys: 1\\); 1 in the old v1 format`,
        ),
      );
      assert.match(output, /fix: restore .*keys\/ .*from the backup of the data directory, or set RELAYGATE_MASTER_KEY to the key with id/);
      assert.doesNotMatch(output, /at .*\.ts:\d+/, 'no stack trace');
      assert.equal(existsSync(keyFile), false, 'no new keys/master.key was written');

      // The CLI opens the same key the same way: it refuses too, and makes no key either.
      const status = await runCli(['key', 'status'], env);
      assert.equal(status.code, EX_CONFIG, status.stderr);
      assert.match(status.stderr, new RegExp(`under key-encryption key ${keyId}`));
      const sealing = await runCli(['inbound', 'set', '--webhook', 'https://hooks.example.net/mail'], env);
      assert.equal(sealing.code, EX_CONFIG, sealing.stderr);
      assert.equal(existsSync(keyFile), false, 'no CLI command wrote a new keys/master.key');
    } finally {
      await dir.cleanup();
    }
  });

  test('RELAYGATE_MASTER_KEY set to another key: start exits 78 naming both key ids, the count and the fix', async () => {
    const dir = await tempDir();
    try {
      const { env, keyId, keyFile } = await sealedStore(dir);
      const before = readFileSync(keyFile, 'utf8');
      const other = randomBytes(32);

      const { outcome, output } = await startOutcome({ ...env, RELAYGATE_MASTER_KEY: other.toString('base64') });
      assert.equal(outcome, EX_CONFIG, output);
      assert.match(output, new RegExp(`masterKey \\(RELAYGATE_MASTER_KEY\\).*is key-encryption key ${keyIdOf(other)}, which does not open 5 sealed values`));
      assert.match(output, new RegExp(`4 under key-encryption key ${keyId}`));
      // The key that sealed them is still in keys/master.key: the fix says so, and how to move to the new key.
      assert.match(output, new RegExp(`fix: keys/master\\.key in the data directory holds key ${keyId}: unset RELAYGATE_MASTER_KEY`));
      assert.match(output, /RELAYGATE_PREVIOUS_MASTER_KEYS.*relaygate key rewrap/);
      assert.doesNotMatch(output, new RegExp(other.toString('base64').replace(/[+/=]/g, '.')), 'never the key itself');
      assert.equal(readFileSync(keyFile, 'utf8'), before, 'keys/master.key is left as it was');

      // Without keys/master.key, the fix is the backup or the variable.
      rmSync(keyFile);
      const again = await startOutcome({ ...env, RELAYGATE_MASTER_KEY: other.toString('base64') });
      assert.equal(again.outcome, EX_CONFIG, again.output);
      assert.match(again.output, new RegExp(`fix: set RELAYGATE_MASTER_KEY to the key with id ${keyId}`));
      assert.equal(existsSync(keyFile), false);
    } finally {
      await dir.cleanup();
    }
  });

  test('an empty store gets a generated keys/master.key (0600) on its first start, and keeps it', async () => {
    const dir = await tempDir();
    try {
      const env = gatewayEnv(dir.path);
      const keyFile = join(dir.path, MASTER_KEY_FILE);
      const gateway = await spawnGateway(env);
      try {
        assert.ok(existsSync(keyFile), 'keys/master.key was generated');
        assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      } finally {
        gateway.child.kill('SIGTERM');
        await gateway.exited;
      }
      const first = readFileSync(keyFile, 'utf8');
      const again = await spawnGateway(env);
      again.child.kill('SIGTERM');
      await again.exited;
      assert.equal(readFileSync(keyFile, 'utf8'), first, 'a second start uses the same key');
    } finally {
      await dir.cleanup();
    }
  });

  test('PostgreSQL: an instance without keys/master.key makes none while the store names the key the others use, even before anything is sealed', {
    ...onlyOn('postgres', 'instances share their store, and its key check, only on PostgreSQL'),
  }, async () => {
    const dir = await tempDir();
    try {
      const config = loadConfig({ env: gatewayEnv(dir.path) });
      const keyFile = join(dir.path, MASTER_KEY_FILE);
      const first = await openStore(config);
      const keyId = keyEncryptionFor(config).currentKeyId;
      // What a first instance's start records (checkKeyEncryptionKey).
      await recordKeyEncryptionKey(first.db, keyId, Date.now());
      await first.close();
      rmSync(keyFile);

      await assert.rejects(openStore(config), (err: Error) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, new RegExp(`keys/master\\.key .*is missing, but the other instances on this database seal with key-encryption key ${keyId}`));
        assert.match(err.message, new RegExp(`fix: .*set RELAYGATE_MASTER_KEY to the key with id ${keyId}`));
        return true;
      });
      assert.equal(existsSync(keyFile), false);
    } finally {
      await dir.cleanup();
    }
  });
});
