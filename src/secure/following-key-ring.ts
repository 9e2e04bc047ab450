import { statSync } from 'node:fs';
import type { KeyRing } from './key-encryption.js';

/**
 * A ring that reloads its keys when they change under a running process, so that
 * `relaygate key rotate` needs no restart to be safe:
 * - before sealing, when the key file was replaced (a rename gives it a new inode), so new
 *   values go under the new key rather than one the operator is about to forget;
 * - before opening a v2 value under a key id it lacks, which is how it first meets values
 *   rewrapped by the CLI. Otherwise only corrupt values do that, rare enough that reading a
 *   few small files for each costs nothing.
 * A stat per seal is cheap beside what a seal accompanies (a database commit).
 */
export function followingKeyRing(load: () => KeyRing, keyFile: string | undefined): KeyRing {
  let seen = identity(keyFile);
  let ring = load();
  const reload = () => {
    const now = identity(keyFile);
    try {
      ring = load();
      seen = now;
    } catch {
      // A key file broken since start: keep the keys that worked; what they cannot open fails as it would have.
    }
  };
  const knows = (keyId: string) => keyId === ring.currentKeyId || ring.previousKeyIds.includes(keyId);
  const beforeOpening = (sealed: string) => {
    const keyId = /^v2\.([^.]+)\./.exec(sealed)?.[1];
    if (keyId !== undefined && !knows(keyId)) reload();
  };

  return {
    get currentKeyId() {
      return ring.currentKeyId;
    },
    get previousKeyIds() {
      return ring.previousKeyIds;
    },
    seal(plaintext, context) {
      if (keyFile !== undefined && identity(keyFile) !== seen) reload();
      return ring.seal(plaintext, context);
    },
    open(sealed, context) {
      beforeOpening(sealed);
      return ring.open(sealed, context);
    },
    needsRewrap: (sealed) => ring.needsRewrap(sealed),
    sealedUnder(sealed, context) {
      beforeOpening(sealed);
      return ring.sealedUnder(sealed, context);
    },
  };
}

function identity(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}
