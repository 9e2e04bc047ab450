import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../../src/app/open-store.js';
import type { Config } from '../../src/config/index.js';

/**
 * Where a gateway keeps message bodies, whatever its engine: the ids in its spool directory
 * (SQLite) or in its message_bodies rows (PostgreSQL). Tests ask this instead of the disk.
 */
export async function storedBodyIds(config: Config): Promise<string[]> {
  if (!config.databaseUrl)
    return readdir(join(config.dataDir, 'spool')).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  const store = await openStore(config);
  try {
    const rows = await store.db.selectFrom('message_bodies').select('message_id').distinct().execute();
    return rows.map((r) => r.message_id);
  } finally {
    await store.close();
  }
}

/** The stored bytes of one body as they are at rest (ciphertext for a secure message), or undefined. */
export async function storedBody(config: Config, id: string): Promise<Buffer | undefined> {
  if (!config.databaseUrl) return readFile(join(config.dataDir, 'spool', id)).catch(() => undefined);
  const store = await openStore(config);
  try {
    const rows = await store.db.selectFrom('message_bodies').select('chunk').where('message_id', '=', id).orderBy('seq').execute();
    return rows.length === 0 ? undefined : Buffer.concat(rows.map((r) => Buffer.from(r.chunk)));
  } finally {
    await store.close();
  }
}
