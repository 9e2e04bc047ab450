import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey } from '../lib/key-file.js';
import { openSqlite } from '../store/sqlite/open.js';
import type { Db } from '../store/tables.js';

export interface OpenStore {
  db: Db;
  /** Resolves once every commit made so far is on disk. */
  syncCommitted(): Promise<void>;
  /** Key of the keyed hash that credential secrets are stored as; never in the database. */
  hashKey: Buffer;
  close(): Promise<void>;
}

/** The one place that knows which engine holds the state (the embedded SQLite file for now). */
export async function openStore(config: Config): Promise<OpenStore> {
  const sqlite = await openSqlite(join(config.dataDir, 'relaygate.db'));
  return { ...sqlite, hashKey: loadOrCreateKey(join(config.dataDir, 'keys', 'credential-hash.key')) };
}
