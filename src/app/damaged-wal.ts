import type { Logger } from 'pino';
import type { DurabilityEvent } from '../store/durability.js';
import { WAL_DAMAGED } from '../store/sqlite/wal-frames.js';

/**
 * A WAL that does not hold what SQLite wrote (store/sqlite/wal-frames.ts) must reach SQLite's
 * recovery at the next start, which keeps it up to its last intact frame. An orderly stop
 * would not let it: closing the store's last connection checkpoints the WAL as it is, stale
 * frames and all, into the database file (measured: the store's thread closes its connection
 * even on process.exit). So the process ends at once, killed, as PostgreSQL stops (PANIC) on a
 * failed fsync rather than checkpoint over it; the service manager starts it again
 * (deploy/relaygate.service: Restart=on-failure). Accepted mail is in the WAL up to the
 * damaged frame and is kept; what the last commits after it recorded is done again.
 */
export function endOnDamagedWal(log: Logger, end: () => void = () => process.kill(process.pid, 'SIGKILL')): (event: DurabilityEvent) => void {
  return (event) => {
    const damaged =
      event.kind === 'proof-failed'
        ? (event.err as { code?: unknown } | undefined)?.code === WAL_DAMAGED
        : event.kind === 'lost' && event.failure.code === WAL_DAMAGED;
    if (!damaged) return;
    log.fatal(
      { event: 'store.wal-damaged', err: event.kind === 'proof-failed' ? event.err : undefined, sync: event.failure.sync, code: event.failure.code },
      'the WAL does not hold what SQLite wrote: the gateway ends now, without closing the store, so that SQLite recovers it at the next start',
    );
    // The fatal line first; a destination that never answers does not keep the process up.
    const late = setTimeout(end, 1000);
    log.flush(() => {
      clearTimeout(late);
      end();
    });
  };
}
