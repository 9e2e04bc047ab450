import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const INSTANCE_FILE = 'instance-id';

/**
 * A name for this instance that outlives its processes, kept in its data directory. Lease
 * owners start with it, so a restarted instance knows which leases were its own: their
 * holder is certainly dead, and the work is taken back at once instead of after the lease.
 */
export function instanceIdOf(dataDir: string): string {
  const path = join(dataDir, INSTANCE_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    writeFileSync(path, `${randomBytes(8).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(path, 'utf8').trim();
}
