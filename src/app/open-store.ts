import { join } from 'node:path';
import { auditKeying } from '../audit/audit-keying.js';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey } from '../lib/key-file.js';
import { ensureKeyEncryptionKey } from '../secure/key-guard.js';
import type { AuditChain } from '../store/audit/audit-chain.js';
import { openAuditChain } from '../store/audit/open-audit-chain.js';
import type { StoreDurability } from '../store/durability.js';
import type { Engine } from '../store/engine.js';
import type { ConnectionLog, Listening } from '../store/postgres/listen-connection.js';
import { sqlSealedValueStore } from '../store/sealed-values/index.js';
import { checkCredentialHashKey } from '../store/shared-keys.js';
import { openSqlite } from '../store/sqlite/open.js';
import type { Db } from '../store/tables.js';
import { prepareDataDir } from './data-dir.js';

export interface OpenStore {
  db: Db;
  engine: Engine;
  /** Resolves once every commit made so far is on disk. */
  syncCommitted(): Promise<void>;
  /** Whether syncCommitted() can be trusted: after a failed sync, not until the store is proven durable again. */
  durability: StoreDurability;
  /** Key of the keyed hash that credential secrets are stored as; never in the database. */
  hashKey: Buffer;
  /** The audit log's key and the head this data directory anchors; the db carries it too. */
  audit: AuditChain;
  /** Wakes `onNotify` when another instance signals `channel`; undefined on the embedded store, which has one instance. */
  listen?: (channel: string, onNotify: () => void) => Promise<Listening>;
  /** Bytes the embedded store has had written to storage since it opened; absent on PostgreSQL, whose server writes. */
  writtenBytes?: () => Promise<number | undefined>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** How this process shows in pg_stat_activity (a gateway names its instance). */
  applicationName?: string;
  /** Lost and restored database connections are reported here. */
  log?: ConnectionLog;
  /** The gateway: a WAL that the last run left behind is proven durable before it is trusted (store/sqlite/open.ts). */
  proveLeftoverWal?: boolean;
}

/**
 * The one place that knows which engine holds the state: PostgreSQL when a URL is set, else
 * the embedded SQLite file. Opened only with keys that fit it: the credential hash key the
 * other instances use, a key-encryption key that opens every sealed value (key-guard.ts),
 * and the audit log's key (src/audit/audit-keying.ts).
 */
export async function openStore(config: Config, options: OpenStoreOptions = {}): Promise<OpenStore> {
  prepareDataDir(config.dataDir);
  const hashKey = config.credentialHashKey
    ? Buffer.from(config.credentialHashKey, 'base64')
    : loadOrCreateKey(join(config.dataDir, 'keys', 'credential-hash.key'));
  if (config.databaseUrl) {
    // Loaded only for a store on PostgreSQL: pg would cost every command on the embedded store ~60 ms.
    const { openPostgres } = await import('../store/postgres/open.js');
    const postgres = await openPostgres(config.databaseUrl, options);
    try {
      await checkCredentialHashKey(postgres.db, hashKey, Date.now());
      await ensureKeyEncryptionKey(sqlSealedValueStore(postgres.db), config, 'postgres');
      return { ...postgres, ...(await withAudit(postgres, config)), engine: 'postgres', hashKey };
    } catch (err) {
      await postgres.close();
      throw err;
    }
  }
  const sqlite = await openSqlite(join(config.dataDir, 'relaygate.db'), { proveLeftoverWal: options.proveLeftoverWal ?? false });
  try {
    await ensureKeyEncryptionKey(sqlSealedValueStore(sqlite.db), config, 'sqlite');
    return { ...sqlite, ...(await withAudit(sqlite, config)), engine: 'sqlite', hashKey };
  } catch (err) {
    await sqlite.close();
    throw err;
  }
}

/** The db carrying the audit chain; closing waits until the head names every record appended. */
async function withAudit(store: { db: Db; close(): Promise<void> }, config: Config): Promise<Pick<OpenStore, 'db' | 'audit' | 'close'>> {
  const { db, chain } = await openAuditChain(store.db, (recorded) => auditKeying(config, recorded), Date.now());
  return {
    db,
    audit: chain,
    async close() {
      await chain.settle();
      await store.close();
    },
  };
}
