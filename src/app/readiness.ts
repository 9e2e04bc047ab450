import type { Probe, ReadinessCheck } from '../http/server.js';
import { formatDurationMs } from '../lib/durations.js';
import type { FreeSpace } from '../lib/free-space.js';
import { formatSizeBytes } from '../lib/sizes.js';
import { describeDurabilityFailure, StoreNotDurable } from '../model/durability-failure.js';
import type { ListenState } from '../store/postgres/listen-connection.js';

/**
 * A check that has not answered by then fails: a hung store must not hang the orchestrator's
 * probe, and a database that went away shows as not ready within 2 s (a heartbeat commit
 * takes milliseconds when the store is well).
 */
const CHECK_TIMEOUT_MS = 1500;

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
  /** Why the store is not durable (a failed sync not yet proven, store/durability.ts), or undefined. */
  storeNotDurable(): string | undefined;
  /** The SMTP listeners not accepting connections (see smtp/listeners.ts). */
  smtpNotListening(): string[];
  diskShortage(): Promise<string | undefined>;
  minFreeBytes: number;
  /** The worker's LISTEN connection on PostgreSQL; undefined where there is none (SQLite, no worker). */
  queueWakeups?: () => ListenState | undefined;
  /** How often the worker looks for work without a wake-up (queue.pollInterval). */
  pollMs?: number;
}

/** /readyz: ready only when the store takes a durable write, the SMTP listeners (submission, implicit TLS, relay) are up and there is room on the disk. */
export function readinessProbe(deps: ReadinessDeps): Probe {
  // Probes arriving while a heartbeat still waits (a lock held by another process, a stalled
  // disk) share it rather than queue one write each behind it.
  let heartbeat: Promise<void> | undefined;
  let lastFailure: string | undefined;
  const beat = () => {
    heartbeat ??= deps
      .writeHeartbeat()
      .then(
        () => {
          lastFailure = undefined;
        },
        (err: unknown) => {
          const code = (err as NodeJS.ErrnoException).code;
          lastFailure = `${code ? `${code} ` : ''}${(err as Error).message}`;
          throw err;
        },
      )
      .finally(() => {
        heartbeat = undefined;
      });
    return heartbeat;
  };
  const store = async (): Promise<ReadinessCheck> => {
    // No heartbeat meanwhile: its sync would be refused anyway, and the reason is this one.
    const notDurable = deps.storeNotDurable();
    if (notDurable !== undefined) return { ok: false, detail: `not durable: ${notDurable}` };
    try {
      await beat();
      return { ok: true, detail: 'ok' };
    } catch (err) {
      if (err instanceof StoreNotDurable) return { ok: false, detail: `not durable: ${describeDurabilityFailure(err.failure)}` };
      return { ok: false, detail: `not writable: ${lastFailure}` };
    }
  };
  const storeLate = (): ReadinessCheck => ({
    ok: false,
    detail: `no commit within ${CHECK_TIMEOUT_MS / 1000}s: ${lastFailure ? `the last one failed: ${lastFailure}` : 'the database may be locked by another process (a backup, the CLI), or its disk stalled'}`,
  });
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
      const [storeResult, smtpResult, diskResult] = await Promise.all([withTimeout(store(), storeLate), withTimeout(smtp()), withTimeout(disk())]);
      const wakeups = deps.queueWakeups?.();
      return {
        store: storeResult,
        smtp: smtpResult,
        disk: diskResult,
        ...(wakeups ? { queueWakeups: queueWakeupsCheck(wakeups, deps.pollMs) } : {}),
      };
    },
  };
}

/**
 * Degraded, not unready: without its LISTEN connection the instance still accepts and
 * delivers, and finds new work from other instances at its next poll instead of at once.
 */
function queueWakeupsCheck(state: ListenState, pollMs: number | undefined): ReadinessCheck {
  if (state.connected) return { ok: true, detail: 'ok' };
  const poll = pollMs === undefined ? '' : `, polling every ${formatDurationMs(pollMs)} meanwhile`;
  return { ok: true, detail: `LISTEN connection lost (${state.lostReason ?? 'unknown reason'}); reconnecting${poll}` };
}

function withTimeout(
  check: Promise<ReadinessCheck>,
  late: () => ReadinessCheck = () => ({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS / 1000}s` }),
): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(() => resolve(late()), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check, timedOut]).finally(() => clearTimeout(timer));
}
