import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from '../migrations.js';
import type { Database, Db } from '../tables.js';

/**
 * Opens the embedded store. WAL lets the CLI read and write while the gateway runs;
 * synchronous=FULL makes every commit durable (fsync of the WAL), which is what lets the
 * gateway say 250 after a commit; busy_timeout makes the CLI and the gateway wait for
 * each other instead of failing.
 */
export async function openSqlite(path: string): Promise<{ db: Db; close(): Promise<void> }> {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db as unknown as Kysely<unknown>);
  return { db, close: () => db.destroy() };
}
