import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey } from '../lib/key-file.js';
import type { Engine } from '../store/engine.js';
import { openPostgres } from '../store/postgres/open.js';
import { checkCredentialHashKey } from '../store/shared-keys.js';
import { openSqlite } from '../store/sqlite/open.js';
import type { Db } from '../store/tables.js';

export interface OpenStore {
  db: Db;
  engine: Engine;
  /** Resolves once every commit made so far is on disk. */
  syncCommitted(): Promise<void>;
  /** Key of the keyed hash that credential secrets are stored as; never in the database. */
  hashKey: Buffer;
  /** Wakes `onNotify` when another instance signals `channel`; undefined on the embedded store, which has one instance. */
  listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The one place that knows which engine holds the state: PostgreSQL when a URL is set, else the embedded SQLite file. */
export async function openStore(config: Config): Promise<OpenStore> {
  const hashKey = config.credentialHashKey
    ? Buffer.from(config.credentialHashKey, 'base64')
    : loadOrCreateKey(join(config.dataDir, 'keys', 'credential-hash.key'));
  if (config.databaseUrl) {
    const postgres = await openPostgres(config.databaseUrl);
    try {
      await checkCredentialHashKey(postgres.db, hashKey, Date.now());
    } catch (err) {
      await postgres.close();
      throw err;
    }
    return { ...postgres, engine: 'postgres', hashKey };
  }
  const sqlite = await openSqlite(join(config.dataDir, 'relaygate.db'));
  return { ...sqlite, engine: 'sqlite', hashKey };
}
