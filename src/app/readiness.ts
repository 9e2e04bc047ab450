import type { Probe, ReadinessCheck } from '../http/server.js';
import type { FreeSpace } from '../lib/free-space.js';
import { formatSizeBytes } from '../lib/sizes.js';

/** A check that has not answered by then fails: a hung store must not hang the orchestrator's probe. */
const CHECK_TIMEOUT_MS = 5000;

/**
 * Why no message can be stored now, or undefined: free space on the data directory's
 * filesystem below health.minFreeDisk (0 turns the check off). Asked at every MAIL FROM and
 * by /readyz; the reading is cached (lib/free-space.ts).
 */
export function storageShortage(space: FreeSpace, minFreeBytes: number): () => Promise<string | undefined> {
  return async () => {
    if (minFreeBytes === 0) return undefined;
    const free = await space.availableBytes();
    if (free >= minFreeBytes) return undefined;
    return `only ${formatSizeBytes(free)} free, below health.minFreeDisk ${formatSizeBytes(minFreeBytes)}`;
  };
}

export interface ReadinessDeps {
  /** False once shutdown has begun. */
  accepting(): boolean;
  /** A real commit to the store (store/heartbeat.ts); rejects when the store cannot take one. */
  writeHeartbeat(): Promise<void>;
  /** The SMTP listeners not accepting connections (see smtp/listeners.ts). */
  smtpNotListening(): string[];
  diskShortage(): Promise<string | undefined>;
  minFreeBytes: number;
}

/** /readyz: ready only when the store takes a write, both SMTP listeners are up and there is room on the disk. */
export function readinessProbe(deps: ReadinessDeps): Probe {
  const store = async (): Promise<ReadinessCheck> => {
    try {
      await deps.writeHeartbeat();
      return { ok: true, detail: 'ok' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, detail: `not writable: ${code ? `${code} ` : ''}${(err as Error).message}` };
    }
  };
  const smtp = async (): Promise<ReadinessCheck> => {
    if (!deps.accepting()) return { ok: false, detail: 'shutting down' };
    const down = deps.smtpNotListening();
    return down.length === 0 ? { ok: true, detail: 'ok' } : { ok: false, detail: `not listening: ${down.join(', ')}` };
  };
  const disk = async (): Promise<ReadinessCheck> => {
    if (deps.minFreeBytes === 0) return { ok: true, detail: 'not checked (health.minFreeDisk is 0)' };
    try {
      const shortage = await deps.diskShortage();
      return shortage === undefined ? { ok: true, detail: 'ok' } : { ok: false, detail: shortage };
    } catch (err) {
      return { ok: false, detail: `free space unknown: ${(err as Error).message}` };
    }
  };
  return {
    async checks() {
      const [storeResult, smtpResult, diskResult] = await Promise.all([store, smtp, disk].map((check) => withTimeout(check())));
      return { store: storeResult as ReadinessCheck, smtp: smtpResult as ReadinessCheck, disk: diskResult as ReadinessCheck };
    },
  };
}

function withTimeout(check: Promise<ReadinessCheck>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS / 1000}s` }), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}
