import { join } from 'node:path';
import { BetterSqlite3 } from '../../src/store/sqlite/driver.js';

/** After a clean stop: SQLite's own check of every page and index of the data directory's store. */
export function integrityOf(dataDir: string): string {
  const db = new BetterSqlite3(join(dataDir, 'relaygate.db'), { readonly: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}
