/**
 * A new embedded store gets 1 KiB pages (src/store/sqlite/sqlite-thread.ts): every commit
 * writes each page it touched to the WAL whole, so a queued message costs a third of the bytes
 * it did with 4 KiB pages. A store made before keeps its page size: SQLite cannot change it in
 * WAL mode. The store counts what it writes, for the bench's "store KB/msg".
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { BetterSqlite3 } from '../src/store/sqlite/driver.js';
import { openSqlite } from '../src/store/sqlite/open.js';
import { tempDir } from './support/temp-dir.js';

const pragma = async (db: Awaited<ReturnType<typeof openSqlite>>['db'], name: string) =>
  Number(Object.values((await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(db)).rows[0] ?? {})[0]);

test('a new store has 1 KiB pages and checkpoints at about 4 MiB of WAL; it counts the bytes it writes', async () => {
  const dir = await tempDir();
  try {
    const store = await openSqlite(join(dir.path, 'relaygate.db'));
    try {
      assert.equal(await pragma(store.db, 'page_size'), 1024);
      assert.equal(await pragma(store.db, 'wal_autocheckpoint'), 4096);
      const before = await store.writtenBytes();
      if (before === undefined) return assert.fail('/proc/thread-self/io is on Linux: the store must count its writes');
      for (let i = 0; i < 20; i++) await sql`insert into events (message_id, at, kind) values (${`m${i}`}, ${i}, 'received')`.execute(store.db);
      await store.syncCommitted();
      const after = await store.writtenBytes();
      // Twenty commits, each at least one page to the WAL.
      assert.ok(after !== undefined && after - before >= 20 * 1024, `written ${after} - ${before}`);
    } finally {
      await store.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('a store made with 4 KiB pages keeps them, with the checkpoint it had', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'relaygate.db');
    const older = new BetterSqlite3(path);
    older.pragma('page_size = 4096');
    older.pragma('journal_mode = WAL');
    older.exec('create table made_before (x integer)');
    older.close();
    const store = await openSqlite(path);
    try {
      assert.equal(await pragma(store.db, 'page_size'), 4096);
      assert.equal(await pragma(store.db, 'wal_autocheckpoint'), 1024);
    } finally {
      await store.close();
    }
  } finally {
    await dir.cleanup();
  }
});
