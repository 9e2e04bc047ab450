import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDirectory } from '../lib/durable-file.js';
import { readKeyFile } from '../lib/key-file.js';
import { keyIdOf } from './key-encryption.js';
import { type LoadedKey, MASTER_KEY_FILE, PREVIOUS_KEYS_DIR } from './master-key.js';

/** Held by `relaygate key rotate` and `key rewrap` while they run. */
export const KEY_LOCK_FILE = join('keys', 'rotation.lock');

/**
 * Replaces keys/master.key with a fresh key, keeping the old one as keys/previous/<kid>.key.
 * The old key is on disk in its new place before master.key changes, and master.key is
 * replaced by a rename, so a crash at any point leaves every existing value openable by the
 * keys a (re)starting gateway loads.
 */
export async function rotateKeyFile(dataDir: string): Promise<{ current: LoadedKey; replaced: LoadedKey }> {
  const masterPath = join(dataDir, MASTER_KEY_FILE);
  const old = readKeyFile(masterPath);
  const keptAs = join(PREVIOUS_KEYS_DIR, `${keyIdOf(old)}.key`);
  await mkdir(join(dataDir, PREVIOUS_KEYS_DIR), { recursive: true, mode: 0o700 });
  await writeKeyDurably(join(dataDir, keptAs), old);

  const fresh = randomBytes(32);
  await writeKeyDurably(masterPath, fresh);
  return {
    current: { key: fresh, keyId: keyIdOf(fresh), source: MASTER_KEY_FILE, file: masterPath },
    replaced: { key: old, keyId: keyIdOf(old), source: keptAs, file: join(dataDir, keptAs) },
  };
}

/** Deletes these key files; the caller has made sure, durably, that no value is sealed under them. */
export async function forgetKeyFiles(keys: LoadedKey[]): Promise<LoadedKey[]> {
  const files = keys.filter((k) => k.file !== undefined);
  for (const key of files) await unlink(key.file as string);
  for (const dir of new Set(files.map((k) => dirname(k.file as string)))) await fsyncDirectory(dir);
  return files;
}

/**
 * Runs `work` holding the key lock. Two rotations at once would each keep only the key it
 * read as old, and a rewrap deciding what to forget could delete the key file a rotation has
 * just set aside: either loses the values under a key. A lock left by a process that died is
 * taken over.
 */
export async function withKeyLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const path = join(dataDir, KEY_LOCK_FILE);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await takeLock(path);
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}

/** The lock appears with its holder's pid already in it (link of a written file), so a lock without one is a dead holder's. */
async function takeLock(path: string): Promise<void> {
  const mine = `${path}.${process.pid}`;
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await link(mine, path);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && isAlive(holder)) break;
      await rm(path, { force: true });
    }
    throw new KeyLockBusy(path);
  } finally {
    await rm(mine, { force: true });
  }
}

export class KeyLockBusy extends Error {
  constructor(path: string) {
    super(`another "relaygate key" command is running (it holds ${path}); wait for it to finish`);
    this.name = 'KeyLockBusy';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temp file, fsync, rename, fsync of the directory: the path holds the old content or the new, never a part. */
async function writeKeyDurably(path: string, key: Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, path);
  await fsyncDirectory(dirname(path));
}
