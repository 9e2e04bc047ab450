import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { canonicalJson } from '../src/audit/canonical-json.js';
import { loadConfig } from '../src/config/index.js';
import { appendAudit } from '../src/store/audit/append-audit.js';
import type { Db } from '../src/store/tables.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { testDatabaseUrl } from './support/test-database.js';

const RECORDS = 5;
const dirs: TempDir[] = [];
after(async () => {
  for (const dir of dirs) await dir.cleanup();
});

/** A store (real SQLite file, or PostgreSQL under RELAYGATE_TEST_ENGINE=postgres) whose log holds `RECORDS` records written through the gateway's code. */
async function auditedStore(): Promise<{ dir: string; env: NodeJS.ProcessEnv; db<T>(work: (db: Db) => Promise<T>): Promise<T> }> {
  const temp = await tempDir('relaygate-audit-');
  dirs.push(temp);
  const config = loadConfig({
    env: {},
    overrides: { dataDir: temp.path, ...(testDatabaseUrl(temp.path) ? { databaseUrl: testDatabaseUrl(temp.path) } : {}) },
  });
  const db = async <T>(work: (db: Db) => Promise<T>): Promise<T> => {
    const store = await openStore(config);
    try {
      return await work(store.db);
    } finally {
      await store.close();
    }
  };
  await db(async (d) => {
    for (let n = 1; n <= RECORDS; n++)
      await d
        .transaction()
        .execute((trx) =>
          appendAudit(trx, { name: 'cli:test', ip: null }, { action: 'domain.add', targetType: 'domain', targetId: `d${n}.example` }, n * 1000),
        );
  });
  return { dir: temp.path, env: gatewayEnv(temp.path), db };
}

interface Row {
  seq: number;
  at: number;
  actor: string;
  actor_ip: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: string;
}

/** What an intruder with write access to the database but not the key would do: rebuild every hash with `hashOf`. */
async function rechain(db: Db, hashOf: (prev: string, content: string) => string, upTo?: number): Promise<void> {
  const all = (await db.selectFrom('audit_log').selectAll().orderBy('seq').execute()) as Row[];
  const rows = all.filter((r) => upTo === undefined || Number(r.seq) <= upTo);
  let prev = '0'.repeat(64);
  for (const r of rows) {
    const content = canonicalJson({
      seq: Number(r.seq),
      at: Number(r.at),
      actor: r.actor,
      actorIp: r.actor_ip,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      detail: JSON.parse(r.detail),
    });
    const hash = hashOf(prev, content);
    await db.updateTable('audit_log').set({ prev_hash: prev, hash }).where('seq', '=', r.seq).execute();
    prev = hash;
  }
}

const sha256Chain = (prev: string, content: string) => createHash('sha256').update(`${prev}\n${content}`).digest('hex');

describe('relaygate audit verify: the HMAC chain and its anchored head', () => {
  test('an untouched log is intact up to the head anchored in the data directory (0600)', async () => {
    const store = await auditedStore();
    const result = await runCli(['audit', 'verify'], store.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Audit log intact: 5 records verified/);
    assert.match(result.stdout, /head anchored outside the database \(record 5\)/);
    const head = JSON.parse(readFileSync(join(store.dir, 'audit-head.json'), 'utf8')) as { seq: number };
    assert.equal(head.seq, RECORDS);
    assert.equal(statSync(join(store.dir, 'audit-head.json')).mode & 0o777, 0o600);
    if (!store.env.RELAYGATE_DATABASE_URL) assert.equal(statSync(join(store.dir, 'keys', 'audit.key')).mode & 0o777, 0o600);
  });

  const cases: Array<{ name: string; tamper: (db: Db) => Promise<void>; record: number; reason: RegExp }> = [
    {
      name: 'a changed record',
      tamper: (db) =>
        db
          .updateTable('audit_log')
          .set({ target_id: 'innocent.example' })
          .where('seq', '=', 3)
          .execute()
          .then(() => undefined),
      record: 3,
      reason: /does not match its hash under the audit key/,
    },
    {
      name: 'a deleted middle record',
      tamper: (db) =>
        db
          .deleteFrom('audit_log')
          .where('seq', '=', 3)
          .execute()
          .then(() => undefined),
      record: 3,
      reason: /record 3 is missing/,
    },
    {
      name: 'the newest record deleted',
      tamper: (db) =>
        db
          .deleteFrom('audit_log')
          .where('seq', '=', RECORDS)
          .execute()
          .then(() => undefined),
      record: RECORDS,
      reason: /the log ends at record 4, but the head anchored in .*audit-head\.json names record 5/,
    },
    {
      name: 'a changed record with every hash after it recomputed as a SHA-256 chain (no key)',
      tamper: async (db) => {
        await db.updateTable('audit_log').set({ target_id: 'innocent.example' }).where('seq', '=', 3).execute();
        await rechain(db, sha256Chain);
      },
      record: 1,
      reason: /re-chained without the key/,
    },
    {
      name: 'every hash recomputed with another key',
      tamper: (db) => rechain(db, (prev, content) => createHmac('sha256', randomBytes(32)).update(`${prev}\n${content}`).digest('hex')),
      record: 1,
      reason: /re-chained without the key/,
    },
  ];
  for (const c of cases)
    test(`fails naming the record after ${c.name}`, async () => {
      const store = await auditedStore();
      await store.db(c.tamper);
      const result = await runCli(['audit', 'verify', '--json'], store.env);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, new RegExp(`audit log broken at record ${c.record}: `));
      assert.match(result.stderr, c.reason);
      assert.equal((JSON.parse(result.stdout) as { problem: { seq: number } }).problem.seq, c.record);
    });

  test('a head from another instance (--head) that the log does not reach fails; a forged head fails', async () => {
    const store = await auditedStore();
    const other = join(store.dir, 'other-head.json');
    const head = JSON.parse(readFileSync(join(store.dir, 'audit-head.json'), 'utf8')) as { seq: number; hash: string; mac: string };
    await store.db((db) => db.deleteFrom('audit_log').where('seq', '=', RECORDS).execute());
    // Its own head file removed too: the other instance's copy still catches the truncation.
    rmSync(join(store.dir, 'audit-head.json'));
    writeFileSync(other, JSON.stringify(head));
    const truncated = await runCli(['audit', 'verify', '--head', other], store.env);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /audit log broken at record 5: record 5 is missing/);
    writeFileSync(other, JSON.stringify({ ...head, seq: 4, mac: 'f'.repeat(64) }));
    const forged = await runCli(['audit', 'verify', '--head', other], store.env);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /not signed with the audit key/);
    const without = await runCli(['audit', 'verify'], store.env);
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stderr, /no anchored head was found/);
  });

  test('a store whose audit key is another or gone refuses, exit 78, naming RELAYGATE_AUDIT_KEY', async () => {
    const store = await auditedStore();
    const wrong = await runCli(['audit', 'verify'], { ...store.env, RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64') });
    assert.equal(wrong.code, 78, wrong.stderr);
    assert.match(wrong.stderr, /not the one this store's audit log is chained with: give every instance the same RELAYGATE_AUDIT_KEY/);
    if (store.env.RELAYGATE_DATABASE_URL) return;
    rmSync(join(store.dir, 'keys', 'audit.key'));
    const missing = await runCli(['audit', 'verify'], store.env);
    assert.equal(missing.code, 78, missing.stderr);
    assert.match(missing.stderr, /audit\.key is missing.*RELAYGATE_AUDIT_KEY/);
    assert.throws(() => statSync(join(store.dir, 'keys', 'audit.key')), /ENOENT/, 'no new key is made over a keyed log');
  });

  test('records of a version before the key: the first start keys the chain on from them, and they stay protected', async () => {
    const store = await auditedStore();
    // The log as an older version left it: a SHA-256 chain, no key recorded, no key file, no head.
    await store.db(async (db) => {
      await rechain(db, sha256Chain);
      await db.deleteFrom('key_checks').where('name', '=', 'audit-key').execute();
    });
    rmSync(join(store.dir, 'keys', 'audit.key'), { force: true });
    rmSync(join(store.dir, 'audit-head.json'));
    const upgraded = await runCli(['audit', 'verify'], store.env);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, /Audit log intact: 6 records verified/);
    const listed = await runCli(['audit', 'list', '--limit', '1', '--json'], store.env);
    const [marker] = JSON.parse(listed.stdout) as Array<{ action: string; detail: unknown; actor: string }>;
    assert.deepEqual(marker && [marker.action, marker.actor, marker.detail], ['audit.chain-keyed', 'system:relaygate', { unkeyedUpTo: 5 }]);

    await store.db((db) => db.updateTable('audit_log').set({ target_id: 'innocent.example' }).where('seq', '=', 2).execute());
    await store.db((db) => rechain(db, sha256Chain, 5));
    const rewritten = await runCli(['audit', 'verify'], store.env);
    assert.equal(rewritten.code, 1);
    assert.match(rewritten.stderr, /audit log broken at record 6: /, 'the keyed record after the old ones no longer fits');
  });
});
