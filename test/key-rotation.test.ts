import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { spoolFor } from '../src/app/open-spool.js';
import { type OpenStore, openStore } from '../src/app/open-store.js';
import { secureStores } from '../src/app/secure-stores.js';
import { type Config, loadConfig } from '../src/config/index.js';
import { connectionDirectory } from '../src/directory/connections.js';
import { systemClock } from '../src/lib/clock.js';
import { readKeyFile } from '../src/lib/key-file.js';
import { type KeyRing, keyEncryption, keyIdOf } from '../src/secure/key-encryption.js';
import { KEY_LOCK_FILE } from '../src/secure/key-files.js';
import { keyEncryptionFor, keyRingOf, loadKeyEncryptionKey, loadKeys, MASTER_KEY_FILE, PREVIOUS_KEYS_DIR } from '../src/secure/master-key.js';
import { rewrapAll } from '../src/secure/rewrap.js';
import { SEALED_COLUMNS } from '../src/secure/sealed-columns.js';
import { secureVault } from '../src/secure/vault.js';
import { sqlConnectionStore } from '../src/store/connections/index.js';
import type { Db } from '../src/store/tables.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import {
  type Planted,
  plantConnection,
  plantDkimKey,
  plantLdapSource,
  plantSecureMessage,
  plantSecureRecipient,
  plantWebhookTarget,
  type Sealer,
  storedValue,
} from './support/sealed-rows.js';
import { storedBody } from './support/stored-bodies.js';
import { type TempDir, tempDir } from './support/temp-dir.js';

const BODY = Buffer.from('Subject: Contract\r\n\r\nThe signed contract is attached.\r\n');
/** More than one rewrap batch (200), so that paging is exercised. */
const RECIPIENTS = 205;

interface Seeded {
  env: NodeJS.ProcessEnv;
  config: Config;
  oldKey: Buffer;
  planted: Planted[];
}

/**
 * A data directory with a value in every sealed column: some v2 as the gateway seals now,
 * some v1 as the code before key ids did, some NULL (no secret, a shredded message).
 */
async function seed(dir: TempDir, extraEnv: Record<string, string> = {}): Promise<Seeded> {
  const env = gatewayEnv(dir.path, extraEnv);
  const config = loadConfig({ env });
  const store = await openStore(config);
  try {
    const oldKey = loadKeyEncryptionKey(config);
    const v2: Sealer = { kind: 'ring', ring: keyEncryptionFor(config) };
    const v1: Sealer = { kind: 'v1', key: oldKey };
    const spool = spoolFor(store.db, config.dataDir);
    await spool.init();
    const db = store.db;
    const planted = [
      ...(await plantConnection(db, 'conn_a', v2)),
      ...(await plantConnection(db, 'conn_b', v1)),
      ...(await plantConnection(db, 'conn_none', null)),
      ...(await plantWebhookTarget(db, 'itg_a', v2, v1)),
      ...(await plantDkimKey(db, 'dkim_a', v2)),
      ...(await plantLdapSource(db, 'dsrc_a', v1, v2)),
      ...(await plantSecureMessage(db, spool, 'sm_live', BODY, v2)),
      ...(await plantSecureMessage(db, spool, 'sm_shredded', BODY, null)),
      ...(await plantSecureRecipient(db, 'sm_live', 'sr_none', null)),
    ];
    for (let i = 0; i < RECIPIENTS; i += 1) planted.push(...(await plantSecureRecipient(db, 'sm_live', `sr_${String(i).padStart(3, '0')}`, i % 2 ? v1 : v2)));
    return { env, config, oldKey, planted };
  } finally {
    await store.close();
  }
}

/** A body as it is at rest, and on SQLite the file that holds it: rotation must not even rewrite it. */
async function storedBodyAtRest(config: Config, id: string): Promise<{ id: string; bytes?: Buffer; file?: { inode: number; mtimeMs: number } }> {
  const bytes = await storedBody(config, id);
  assert.ok(bytes, `the body of ${id} is stored`);
  if (config.databaseUrl) return { id, bytes };
  const { ino, mtimeMs } = statSync(join(config.dataDir, 'spool', id));
  return { id, bytes, file: { inode: ino, mtimeMs } };
}

/** `db`, except that a transaction waits for `pending()` first: the other writer's commit lands between a read and the write after it. */
function writesAfter(db: Db, pending: () => Promise<unknown>): Db {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return () => {
          const builder = target.transaction();
          return {
            async execute(work: Parameters<typeof builder.execute>[0]) {
              await pending();
              return builder.execute(work);
            },
          };
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function withOpenStore<T>(config: Config, work: (store: OpenStore) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function cliJson<T>(env: NodeJS.ProcessEnv, args: string[], expectedCode = 0): Promise<{ json: T; stdout: string; stderr: string }> {
  const result = await runCli([...args, '--json'], env);
  assert.equal(result.code, expectedCode, `relaygate ${args.join(' ')}: ${result.stderr}`);
  return { json: JSON.parse(result.stdout) as T, stdout: result.stdout, stderr: result.stderr };
}

/** Every planted value is v2 under `key`, and opens with that key alone to what was planted. */
async function assertAllUnder(config: Config, planted: Planted[], key: Buffer): Promise<void> {
  const only = keyEncryption(key);
  await withOpenStore(config, async ({ db }) => {
    for (const p of planted) {
      const value = await storedValue(db, p);
      assert.ok(value, `${p.column} of ${p.id} is still there`);
      assert.ok(value.startsWith(`v2.${keyIdOf(key)}.`), `${p.column} of ${p.id} is v2 under ${keyIdOf(key)}: ${value.slice(0, 16)}`);
      assert.deepEqual(only.open(value, { purpose: p.purpose, id: p.id }), p.plaintext, `${p.column} of ${p.id} holds what it held`);
    }
  });
}

/** The same value with its GCM tag altered (the first character of a v2 tag always carries six bits of it). */
function tamper(sealed: string): string {
  const parts = sealed.split('.');
  const tag = parts[3] ?? '';
  parts[3] = `${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`;
  return parts.join('.');
}

const keyText = (key: Buffer) => [key.toString('base64'), key.toString('base64url'), key.toString('hex')];

interface RotateJson {
  keyId: string;
  replacedKeyId: string;
  keptAs: string;
  rewrapped: number;
  remaining: number;
  columns: { column: string; rewrapped: number; changedMeanwhile: number; unreadable: string[]; remaining: number }[];
}
interface StatusJson {
  current: { keyId: string; source: string; values: number };
  previous: { keyId: string; source: string; values: number }[];
  missing: { keyId: string; values: number }[];
  needRewrap: number;
  v1Values: number;
  unreadable: number;
}
interface RewrapJson extends Omit<RotateJson, 'replacedKeyId' | 'keptAs'> {
  forgotten?: { keyId: string; source: string }[];
  stillNeeded?: { keyId: string; source: string; values: number }[];
  removeFromConfiguration?: { keyId: string; source: string }[];
}

describe('relaygate key: rotating the key-encryption key', () => {
  test('rotate: every sealed value is rewrapped to v2 under the new key and opens with it alone; message bodies are not touched', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { env, config, oldKey, planted } = await seed(dir);
      const masterPath = join(config.dataDir, MASTER_KEY_FILE);
      const oldMasterText = readFileSync(masterPath, 'utf8');
      const bodies = await Promise.all(['sm_live', 'sm_shredded'].map((id) => storedBodyAtRest(config, id)));

      const { json: rotated, stdout } = await cliJson<RotateJson>(env, ['key', 'rotate']);
      const newKey = readKeyFile(masterPath);
      assert.notDeepEqual(newKey, oldKey);
      assert.equal(rotated.keyId, keyIdOf(newKey));
      assert.equal(rotated.replacedKeyId, keyIdOf(oldKey));
      assert.equal(rotated.rewrapped, planted.length);
      assert.equal(rotated.remaining, 0);
      assert.equal(rotated.keptAs, join(PREVIOUS_KEYS_DIR, `${keyIdOf(oldKey)}.key`));
      const kept = join(config.dataDir, rotated.keptAs);
      assert.equal(readFileSync(kept, 'utf8'), oldMasterText, 'the old key is kept as it was');
      assert.equal(statSync(kept).mode & 0o777, 0o600);
      assert.equal(statSync(masterPath).mode & 0o777, 0o600);
      for (const text of [...keyText(oldKey), ...keyText(newKey)]) assert.ok(!stdout.includes(text), 'no key material in the output');

      await assertAllUnder(config, planted, newKey);
      await withOpenStore(config, async ({ db }) => {
        assert.equal(await storedValue(db, { column: 'connections.secret_sealed', id: 'conn_none' }), null);
        assert.equal(await storedValue(db, { column: 'secure_messages.data_key_sealed', id: 'sm_shredded' }), null, 'a shredded message stays shredded');
        assert.equal(await storedValue(db, { column: 'secure_recipients.token_sealed', id: 'sr_none' }), null);

        for (const body of bodies) assert.deepEqual(await storedBodyAtRest(config, body.id), body, `the stored body of ${body.id} is untouched`);
        const vault = secureVault({ ...secureStores(db), kek: keyEncryption(newKey), spool: spoolFor(db, config.dataDir) });
        const unlocked = await vault.unlock('sm_live');
        assert.deepEqual(await unlocked.readBody(), BODY, 'the untouched body opens with the data key rewrapped under the new key');
        assert.equal(unlocked.meta.subject, 'Contract');

        // Rewrapped values stay bound to their row and column, and tampering still fails.
        const conn = (await storedValue(db, { column: 'connections.secret_sealed', id: 'conn_a' })) as string;
        const kek = keyEncryption(newKey);
        assert.throws(() => kek.open(conn, { purpose: 'connection-secret', id: 'conn_b' }), /cannot be opened/);
        assert.throws(() => kek.open(conn, { purpose: 'webhook-secret', id: 'conn_a' }), /cannot be opened/);
        assert.throws(() => kek.open(tamper(conn), { purpose: 'connection-secret', id: 'conn_a' }), /cannot be opened/);
        assert.throws(() => keyEncryption(oldKey).open(conn, { purpose: 'connection-secret', id: 'conn_a' }), /cannot be opened/);

        const audit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'key.rotate').execute();
        assert.equal(audit.length, 1);
        const detail = JSON.parse(audit[0]?.detail ?? '{}') as { previousKeyId: string; rewrapped: number; remaining: number };
        assert.equal(audit[0]?.target_id, keyIdOf(newKey));
        assert.equal(detail.previousKeyId, keyIdOf(oldKey));
        assert.equal(detail.rewrapped, planted.length);
        assert.equal(detail.remaining, 0);
        const everything = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute());
        for (const text of [...keyText(oldKey), ...keyText(newKey)]) assert.ok(!everything.includes(text), 'no key material in the audit log');
      });
    } finally {
      await dir.cleanup();
    }
  });

  test('v1 values written by the old code open, are counted by key status, and are rewrapped by key rewrap; v2 values under the current key are left as they are', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { env, config, oldKey, planted } = await seed(dir);
      const v1Count = await withOpenStore(config, async ({ db }) => {
        const values = await Promise.all(planted.map((p) => storedValue(db, p)));
        return values.filter((v) => v?.startsWith('v1.')).length;
      });
      assert.ok(v1Count > 100, 'the seed holds v1 values');

      const { json: before } = await cliJson<StatusJson>(env, ['key', 'status']);
      assert.equal(before.current.keyId, keyIdOf(oldKey));
      assert.equal(before.current.source, MASTER_KEY_FILE);
      assert.equal(before.current.values, planted.length, 'v1 values are counted under the key that opens them');
      assert.equal(before.v1Values, v1Count);
      assert.equal(before.needRewrap, v1Count);
      assert.deepEqual(before.previous, []);

      const untouched = await withOpenStore(config, ({ db }) => storedValue(db, { column: 'connections.secret_sealed', id: 'conn_a' }));
      const { json: rewrapped } = await cliJson<RewrapJson>(env, ['key', 'rewrap']);
      assert.equal(rewrapped.rewrapped, v1Count);
      assert.equal(rewrapped.remaining, 0);
      assert.equal(await withOpenStore(config, ({ db }) => storedValue(db, { column: 'connections.secret_sealed', id: 'conn_a' })), untouched);
      await assertAllUnder(config, planted, oldKey);

      const { json: after } = await cliJson<StatusJson>(env, ['key', 'status']);
      assert.equal(after.needRewrap, 0);
      assert.equal(after.v1Values, 0);
      const table = await runCli(['key', 'status'], env);
      assert.match(table.stdout, /^KEY ID\s+ROLE\s+SOURCE\s+VALUES\n/m);
      assert.match(table.stdout, new RegExp(`${keyIdOf(oldKey)}\\s+current\\s+keys/master\\.key\\s+${planted.length}\\n`));
      assert.match(table.stdout, /Every sealed value is under the current key\./);
    } finally {
      await dir.cleanup();
    }
  });

  test('rewrap --forget-previous keeps the previous key file while a value is under it, and deletes it once none is', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { env, config, oldKey, planted } = await seed(dir);
      const { json: rotated } = await cliJson<RotateJson>(env, ['key', 'rotate']);
      const kept = join(config.dataDir, rotated.keptAs);
      const newKey = readKeyFile(join(config.dataDir, MASTER_KEY_FILE));

      // A gateway started before the rotation, and not following it, seals a new secret under the
      // old key; another value under the old key id was altered and opens under no key.
      const stale: Sealer = { kind: 'ring', ring: keyEncryption(oldKey) };
      const late = await withOpenStore(config, async ({ db }) => {
        const planted = await plantConnection(db, 'conn_late', stale);
        await plantConnection(db, 'conn_bad', stale);
        const bad = (await storedValue(db, { column: 'connections.secret_sealed', id: 'conn_bad' })) as string;
        await db
          .updateTable('connections')
          .set({ secret_sealed: tamper(bad) })
          .where('id', '=', 'conn_bad')
          .execute();
        return planted;
      });

      const { json: status } = await cliJson<StatusJson>(env, ['key', 'status']);
      assert.equal(status.current.keyId, keyIdOf(newKey));
      assert.equal(status.current.values, planted.length);
      assert.deepEqual(status.previous, [{ keyId: keyIdOf(oldKey), source: rotated.keptAs, values: 2 }]);
      assert.equal(status.needRewrap, 2);

      const refused = await cliJson<RewrapJson>(env, ['key', 'rewrap', '--forget-previous'], 1);
      assert.match(refused.stderr, /kept every previous key: 1 value\(s\) are still sealed under .* \(keys\/previous\/.*\.key\)/);
      assert.equal(refused.json.rewrapped, 1, 'the late value was rewrapped');
      assert.deepEqual(refused.json.forgotten, []);
      assert.deepEqual(
        refused.json.columns.find((c) => c.column === 'connections.secret_sealed')?.unreadable,
        ['conn_bad'],
        'the altered value is named, not overwritten',
      );
      assert.ok(existsSync(kept), 'the old key file stays while a value is under it');
      await assertAllUnder(config, late, newKey);

      // The operator sets that secret again; nothing is under the old key any more.
      await withOpenStore(config, ({ db }) =>
        db.updateTable('connections').set({ secret_sealed: null, username: null }).where('id', '=', 'conn_bad').execute(),
      );
      const { json: forgot } = await cliJson<RewrapJson>(env, ['key', 'rewrap', '--forget-previous']);
      assert.deepEqual(forgot.forgotten, [{ keyId: keyIdOf(oldKey), source: rotated.keptAs, values: 0 }]);
      assert.equal(existsSync(kept), false, 'the old key file is deleted');
      assert.deepEqual(loadKeys(config).previous, []);

      // The gateway's own code opens everything with the one key left.
      await withOpenStore(config, async (store) => {
        const routable = await connectionDirectory({ connections: sqlConnectionStore(store.db) }, { clock: systemClock }, config).routable();
        for (const p of [...planted, ...late].filter((p) => p.column === 'connections.secret_sealed')) {
          assert.equal(routable.find((r) => r.id === p.id)?.target().auth?.pass, p.plaintext.toString('utf8'));
        }
        const audit = await store.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'key.rewrap').orderBy('seq').execute();
        assert.deepEqual(
          audit.map((r) => (JSON.parse(r.detail) as { forgotten: string[] }).forgotten),
          [[], [keyIdOf(oldKey)]],
        );
      });
      const { json: finalStatus } = await cliJson<StatusJson>(env, ['key', 'status']);
      assert.deepEqual(finalStatus.previous, []);
      assert.equal(finalStatus.needRewrap, 0);
    } finally {
      await dir.cleanup();
    }
  });

  test('rotate refuses a key set in RELAYGATE_MASTER_KEY and says how to rotate it', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const env = gatewayEnv(dir.path, { RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64') });
      const result = await runCli(['key', 'rotate'], env);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^relaygate: the key-encryption key comes from RELAYGATE_MASTER_KEY \(masterKey\), which this command cannot change\. To rotate it: put a new key \(openssl rand -base64 32\) in RELAYGATE_MASTER_KEY and the current one in RELAYGATE_PREVIOUS_MASTER_KEYS, restart every gateway process, then run "relaygate key rewrap"\n$/,
      );
      assert.equal(existsSync(join(dir.path, MASTER_KEY_FILE)), false);
      assert.equal(existsSync(join(dir.path, PREVIOUS_KEYS_DIR)), false);
    } finally {
      await dir.cleanup();
    }
  });

  test('a key from the environment is rotated by hand: new key in RELAYGATE_MASTER_KEY, old in RELAYGATE_PREVIOUS_MASTER_KEYS, then rewrap', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const oldKey = randomBytes(32);
      const { planted } = await seed(dir, { RELAYGATE_MASTER_KEY: oldKey.toString('base64') });
      const newKey = randomBytes(32);
      const env = gatewayEnv(dir.path, { RELAYGATE_MASTER_KEY: newKey.toString('base64'), RELAYGATE_PREVIOUS_MASTER_KEYS: oldKey.toString('base64') });
      const config = loadConfig({ env });

      const { json: status } = await cliJson<StatusJson>(env, ['key', 'status']);
      assert.equal(status.current.source, 'masterKey (RELAYGATE_MASTER_KEY)');
      assert.deepEqual(status.previous, [
        { keyId: keyIdOf(oldKey), source: 'previousMasterKeys entry 1 (RELAYGATE_PREVIOUS_MASTER_KEYS)', values: planted.length },
      ]);

      const { json: rewrapped, stdout } = await cliJson<RewrapJson>(env, ['key', 'rewrap', '--forget-previous']);
      assert.equal(rewrapped.rewrapped, planted.length);
      assert.deepEqual(rewrapped.forgotten, []);
      assert.deepEqual(
        rewrapped.removeFromConfiguration?.map((k) => k.keyId),
        [keyIdOf(oldKey)],
      );
      for (const text of [...keyText(oldKey), ...keyText(newKey)]) assert.ok(!stdout.includes(text));
      await assertAllUnder(config, planted, newKey);

      const human = await runCli(['key', 'rewrap', '--forget-previous'], env);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /any more: remove it from RELAYGATE_PREVIOUS_MASTER_KEYS \/ previousMasterKeys/);

      const bad = await runCli(['key', 'status'], { ...env, RELAYGATE_PREVIOUS_MASTER_KEYS: `${oldKey.toString('base64')},bm90LWEta2V5` });
      assert.equal(bad.code, 78);
      assert.match(
        bad.stderr,
        /previousMasterKeys = "\*\*\*" \(from environment variable RELAYGATE_PREVIOUS_MASTER_KEYS\): entry 2 of 2 is not base64 of 32 bytes/,
      );
      assert.ok(!bad.stderr.includes('bm90LWEta2V5') && !bad.stderr.includes(oldKey.toString('base64')), 'the error shows no key');
    } finally {
      await dir.cleanup();
    }
  });

  test('a gateway started before the rotation opens the rewrapped values and seals under the new key without a restart', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { env, config, oldKey, planted } = await seed(dir);
      const running = keyEncryptionFor(config);
      const notFollowing = keyRingOf(loadKeys(config));
      await cliJson<RotateJson>(env, ['key', 'rotate']);
      const newKey = readKeyFile(join(config.dataDir, MASTER_KEY_FILE));

      const p = planted.find((x) => x.column === 'dkim_keys.private_sealed') as Planted;
      const value = (await withOpenStore(config, ({ db }) => storedValue(db, p))) as string;
      const context = { purpose: p.purpose, id: p.id };
      assert.throws(() => notFollowing.open(value, context), /cannot be opened/, 'a ring that does not follow needs a restart');
      assert.deepEqual(running.open(value, context), p.plaintext);
      assert.equal(running.seal('new secret', context).split('.')[1], keyIdOf(newKey));
      assert.equal(running.currentKeyId, keyIdOf(newKey));
      assert.deepEqual(running.previousKeyIds, [keyIdOf(oldKey)]);
    } finally {
      await dir.cleanup();
    }
  });

  test('a value changed while the rewrap runs is left as its writer made it, and counted as remaining', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { config, oldKey } = await seed(dir);
      const newKey = randomBytes(32);
      const ring = keyRingOf({
        current: { key: newKey, keyId: keyIdOf(newKey), source: 'test' },
        previous: [{ key: oldKey, keyId: keyIdOf(oldKey), source: 'test' }],
      });
      // Every opening of the store checks that the configured keys open what it holds (key-guard.ts): the new key is one of them.
      mkdirSync(join(dir.path, PREVIOUS_KEYS_DIR), { recursive: true });
      writeFileSync(join(dir.path, PREVIOUS_KEYS_DIR, 'new.key'), `${newKey.toString('base64')}\n`);
      const concurrent = keyEncryption(oldKey).seal('rotated meanwhile', { purpose: 'connection-secret', id: 'conn_a' });
      // Another writer (the gateway rotating this secret) commits between the rewrap's read and its write.
      const other = await openStore(config);
      let otherWrite: Promise<unknown> = Promise.resolve();
      const racing: KeyRing = {
        ...ring,
        seal(plaintext, context) {
          if (context.id === 'conn_a') {
            otherWrite = other.db.updateTable('connections').set({ secret_sealed: concurrent }).where('id', '=', 'conn_a').execute();
          }
          return ring.seal(plaintext, context);
        },
      };
      try {
        const report = await withOpenStore(config, ({ db }) =>
          rewrapAll(secureStores(writesAfter(db, () => otherWrite)).sealedValues, racing, { batchSize: 7 }),
        );
        const connections = report.columns.find((c) => c.column === 'connections.secret_sealed');
        assert.equal(connections?.changedMeanwhile, 1);
        assert.equal(connections?.remaining, 1);
        assert.equal(report.remaining, 1);
        assert.equal(await withOpenStore(config, ({ db }) => storedValue(db, { column: 'connections.secret_sealed', id: 'conn_a' })), concurrent);

        const again = await withOpenStore(config, ({ db }) => rewrapAll(secureStores(db).sealedValues, ring, { batchSize: 7 }));
        assert.equal(again.rewrapped, 1);
        assert.equal(again.remaining, 0);
      } finally {
        await other.close();
      }
    } finally {
      await dir.cleanup();
    }
  });

  test("key commands take turns: one refuses while another holds the lock, and a dead holder's lock is taken over", async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const { env, config } = await seed(dir);
      const masterPath = join(config.dataDir, MASTER_KEY_FILE);
      const before = readFileSync(masterPath, 'utf8');
      const lock = join(config.dataDir, KEY_LOCK_FILE);
      writeFileSync(lock, `${process.pid}\n`);
      const busy = await runCli(['key', 'rotate'], env);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /another "relaygate key" command is running/);
      assert.equal(readFileSync(masterPath, 'utf8'), before);

      // Above Linux's largest pid_max (2^22): no process has it.
      writeFileSync(lock, `${2 ** 22 + 1}\n`);
      await cliJson<RotateJson>(env, ['key', 'rotate']);
      assert.notEqual(readFileSync(masterPath, 'utf8'), before);
      assert.equal(existsSync(lock), false, 'the lock is released');
    } finally {
      await dir.cleanup();
    }
  });

  test('every *_sealed column of the schema is in the rewrap table, or is sealed under something else', async () => {
    const dir = await tempDir('relaygate-rotate-');
    try {
      const config = loadConfig({ env: gatewayEnv(dir.path) });
      // Sealed under the message's own data key, not the key-encryption key.
      const notUnderKek = ['secure_messages.meta_sealed', 'secure_portal_replies.content_sealed'];
      const columns = await withOpenStore(config, async ({ db, engine }) => {
        const { rows } =
          engine === 'postgres'
            ? await sql<{
                table: string;
                name: string;
              }>`select table_name as "table", column_name as name from information_schema.columns where table_schema = current_schema()`.execute(db)
            : await sql<{
                table: string;
                name: string;
              }>`select m.name as "table", c.name as name from sqlite_master m, pragma_table_info(m.name) c where m.type = 'table'`.execute(db);
        return rows
          .filter((c) => c.name.endsWith('_sealed'))
          .map((c) => `${c.table}.${c.name}`)
          .sort();
      });
      const listed = SEALED_COLUMNS.map((c) => c.column);
      assert.deepEqual(columns, [...listed, ...notUnderKek].sort());
    } finally {
      await dir.cleanup();
    }
  });
});
