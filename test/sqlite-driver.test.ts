/**
 * The SQLite driver line follows the runtime's Node-API level (src/store/sqlite/driver.ts),
 * and the store opens the same way on either: WAL, synchronous=NORMAL, foreign keys, a busy
 * timeout. The suite runs under Node 20 and Node 24 in CI, so each line is exercised there.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { BetterSqlite3, SQLITE_DRIVER } from '../src/store/sqlite/driver.js';
import { openSqlite, SQLITE_BUSY_TIMEOUT_MS } from '../src/store/sqlite/open.js';
import { tempDir } from './support/temp-dir.js';

const require = createRequire(import.meta.url);
const napi = Number(process.versions.napi);

test(`Node ${process.versions.node} (Node-API ${napi}) gets the better-sqlite3 line that loads on it`, () => {
  const { version } = require(`${SQLITE_DRIVER}/package.json`) as { version: string };
  if (napi >= 10) {
    // 12.x aborts on Node 24 when a statement is garbage-collected outside a Node context.
    assert.equal(SQLITE_DRIVER, 'better-sqlite3-napi');
    assert.match(version, /^13\./);
  } else {
    // 13.x needs Node-API 10 and segfaults on open below it.
    assert.equal(SQLITE_DRIVER, 'better-sqlite3');
    assert.match(version, /^12\./);
  }
  assert.equal(BetterSqlite3, require(SQLITE_DRIVER));
});

test('the store opens with the same durability settings on either line', async () => {
  const dir = await tempDir();
  try {
    const store = await openSqlite(join(dir.path, 'relaygate.db'));
    try {
      const pragma = async (name: string) => {
        const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(store.db);
        return Object.values(rows[0] ?? {})[0];
      };
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('synchronous'), 1); // NORMAL; syncCommitted() fdatasyncs the WAL
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('busy_timeout'), SQLITE_BUSY_TIMEOUT_MS);
      await store.syncCommitted();
    } finally {
      await store.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('nothing but driver.ts loads better-sqlite3 itself (12.x would load, and abort, on Node 24)', () => {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
      return /\.[cm]?[jt]s$/.test(entry.name) ? [path] : [];
    });
  const offenders = ['src', 'test', 'bench', 'scripts']
    .flatMap((dir) => sources(join(root, dir)))
    .filter((path) => !path.endsWith(join('store', 'sqlite', 'driver.ts')))
    .filter((path) => /^\s*import\s+(?!type\b)[^;]*?from\s+['"]better-sqlite3['"]|require\(\s*['"]better-sqlite3['"]\s*\)/m.test(readFileSync(path, 'utf8')))
    .map((path) => relative(root, path));
  assert.deepEqual(offenders, [], 'import { BetterSqlite3 } from src/store/sqlite/driver.ts instead');
});

test('a transaction that reads, then writes after another process committed, waits for its turn instead of failing SQLITE_BUSY_SNAPSHOT', async () => {
  const dir = await tempDir();
  const path = join(dir.path, 'relaygate.db');
  const mine = await openSqlite(path);
  const other = await openSqlite(path);
  try {
    await sql`create table tally (who text not null)`.execute(mine.db);
    let otherDone = false;
    let otherWrite: Promise<unknown> = Promise.resolve();
    await mine.db.transaction().execute(async (trx) => {
      await sql`select count(*) from tally`.execute(trx);
      // The other connection (the CLI, a second gateway) writes between this read and the
      // write below. With a deferred BEGIN it commits at once and the write below fails.
      otherWrite = sql`insert into tally (who) values ('other')`.execute(other.db).then(() => {
        otherDone = true;
      });
      await Promise.race([otherWrite, new Promise((resolve) => setTimeout(resolve, 300))]);
      assert.equal(otherDone, false, 'the other write waited for this transaction');
      await sql`insert into tally (who) values ('mine')`.execute(trx);
    });
    await otherWrite;
    const { rows } = await sql<{ who: string }>`select who from tally order by rowid`.execute(mine.db);
    assert.deepEqual(
      rows.map((row) => row.who),
      ['mine', 'other'],
    );
  } finally {
    await other.close();
    await mine.close();
    await dir.cleanup();
  }
});
