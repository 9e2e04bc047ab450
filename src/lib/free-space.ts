import { statfs } from 'node:fs/promises';

export interface FreeSpace {
  /** Bytes an unprivileged writer can still use on the filesystem holding the directory, at most maxAgeMs old. */
  availableBytes(): Promise<number>;
}

/**
 * statfs(2) of one directory, cached: every MAIL FROM asks, and a busy gateway would
 * otherwise make one syscall per transaction. Concurrent callers share one call in flight.
 * `bavail`, not `bfree`: blocks reserved for root are not ours to count on. The age is
 * measured on the monotonic clock, so a test's frozen Clock cannot freeze the reading.
 */
export function freeSpace(dir: string, { maxAgeMs = 1000, now = () => performance.now() } = {}): FreeSpace {
  let cached: { bytes: number; at: number } | undefined;
  let inFlight: Promise<number> | undefined;
  return {
    availableBytes() {
      const at = now();
      if (cached && at - cached.at < maxAgeMs) return Promise.resolve(cached.bytes);
      inFlight ??= statfs(dir)
        .then((s) => {
          const bytes = s.bavail * s.bsize;
          cached = { bytes, at };
          return bytes;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}
