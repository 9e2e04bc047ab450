import { type OpenStore, openStore } from '../../src/app/open-store.js';
import { loadConfig } from '../../src/config/index.js';
import { needsPeer } from './peers.js';
import { tempDir } from './temp-dir.js';
import { NO_POSTGRES, postgresTestUrl, schemaUrl } from './test-database.js';

export interface ContractStore extends OpenStore {
  /** Closes the store and removes its data directory; scripts/run-tests.mjs drops the run's PostgreSQL schemas. */
  dispose(): Promise<void>;
}

export interface StoreEngine {
  name: 'SQLite' | 'PostgreSQL';
  /** Options for the engine's describe(): a skip (a failure under RELAYGATE_TEST_REQUIRE_PEERS) where it cannot run. */
  options: { skip?: string; signal?: AbortSignal };
  /** A fresh, migrated store of its own: a new SQLite file, or a new PostgreSQL schema. */
  open(): Promise<ContractStore>;
}

/**
 * The engines the store contract (test/store-contract/) runs against: SQLite always,
 * PostgreSQL when RELAYGATE_TEST_DATABASE_URL is set, whatever RELAYGATE_TEST_ENGINE says,
 * since the contract is what makes the two interchangeable. Use as
 * `for (const engine of storeEngines()) describe(`… on ${engine.name}`, engine.options, () => …)`.
 */
export function storeEngines(): StoreEngine[] {
  return [
    { name: 'SQLite', options: {}, open: () => opened(false) },
    { name: 'PostgreSQL', options: needsPeer(postgresTestUrl() ? undefined : NO_POSTGRES), open: () => opened(true) },
  ];
}

async function opened(postgres: boolean): Promise<ContractStore> {
  const dir = await tempDir('relaygate-store-contract-');
  const env = { RELAYGATE_DATA_DIR: dir.path, ...(postgres ? { RELAYGATE_DATABASE_URL: schemaUrl(dir.path) } : {}) };
  const store = await openStore(loadConfig({ env }));
  return Object.assign(store, {
    async dispose() {
      await store.close();
      await dir.cleanup();
    },
  });
}

/** Runs `work` on a fresh store of `engine` and disposes of the store whatever happens. */
export async function onFreshStore(engine: Pick<StoreEngine, 'open'>, work: (s: ContractStore) => Promise<void>): Promise<void> {
  const s = await engine.open();
  try {
    await work(s);
  } finally {
    await s.dispose();
  }
}
