import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Reads a 256-bit key kept in a file of the data directory, creating it (mode 0600) on
 * first use. `wx` makes two processes starting at once agree on one key.
 */
export function loadOrCreateKey(path: string): Buffer {
  try {
    return readKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readKeyFile(path);
}

/** A key file written by loadOrCreateKey (base64 of 32 bytes and a newline); throws ENOENT when missing. */
export function readKeyFile(path: string): Buffer {
  return decode(readFileSync(path, 'utf8'), path);
}

function decode(text: string, path: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a base64 256-bit key; restore it from backup or remove it to generate a new one`);
  return key;
}
