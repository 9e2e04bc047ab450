/** A private scratch directory per test, so parallel test files never share state on disk. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

export async function tempDir(prefix = 'relaygate-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    // force: cleanup runs from finally blocks and must not mask the real failure.
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}
