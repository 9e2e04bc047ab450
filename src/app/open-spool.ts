import { join } from 'node:path';
import type { BodyCache } from '../lib/body-cache.js';
import { FileSpool, type Spool } from '../queue/spool.js';
import { engineOf } from '../store/engine.js';
import { DatabaseSpool } from '../store/postgres/body-store.js';
import type { OpenStore } from './open-store.js';

/** Bodies live beside the rest of the state: files next to the embedded store, rows in PostgreSQL, which instances share. */
export function spoolFor(db: OpenStore['db'], dataDir: string, cache?: BodyCache): Spool {
  return engineOf(db) === 'postgres' ? new DatabaseSpool(db, Date.now, cache) : new FileSpool(join(dataDir, 'spool'), cache);
}
