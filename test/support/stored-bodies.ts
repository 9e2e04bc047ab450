import { appendFile, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
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

/** How a test damages a stored body: cut its last bytes off, add bytes at its end, or remove it. */
export type BodyDamage = { truncate: number } | { append: Buffer } | 'delete';

/** Damages a body at rest as a faulty disk, a careless restore or an operator's `rm` would, on either engine. */
export async function damageStoredBody(config: Config, id: string, damage: BodyDamage): Promise<void> {
  if (!config.databaseUrl) {
    const path = join(config.dataDir, 'spool', id);
    if (damage === 'delete') return rm(path);
    if ('append' in damage) return appendFile(path, damage.append);
    return truncate(path, (await stat(path)).size - damage.truncate);
  }
  const store = await openStore(config);
  try {
    if (damage === 'delete') {
      await store.db.deleteFrom('message_bodies').where('message_id', '=', id).execute();
      return;
    }
    const last = await store.db
      .selectFrom('message_bodies')
      .select(['seq', 'chunk'])
      .where('message_id', '=', id)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const chunk = Buffer.from(last.chunk);
    const torn = 'append' in damage ? Buffer.concat([chunk, damage.append]) : chunk.subarray(0, chunk.length - damage.truncate);
    await store.db.updateTable('message_bodies').set({ chunk: torn }).where('message_id', '=', id).where('seq', '=', last.seq).execute();
  } finally {
    await store.close();
  }
}

/** A body no queue row owns, old enough for the sweep at start (a transfer cut short long ago). */
export async function plantOrphanBody(config: Config, id: string): Promise<void> {
  if (!config.databaseUrl) return writeFile(join(config.dataDir, 'spool', id), 'Subject: orphan\r\n\r\ncut short\r\n');
  const store = await openStore(config);
  try {
    const createdAt = Date.now() - 2 * 60 * 60 * 1000;
    await store.db
      .insertInto('message_bodies')
      .values({ message_id: id, seq: 0, chunk: Buffer.from('cut short\r\n'), created_at: createdAt })
      .execute();
  } finally {
    await store.close();
  }
}
