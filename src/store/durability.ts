import { coalesce } from '../lib/coalesce.js';
import { type DurabilityFailure, StoreNotDurable } from '../model/durability-failure.js';

export { type DurabilityFailure, describeDurabilityFailure, StoreNotDurable } from '../model/durability-failure.js';

export type DurabilityEvent =
  | { kind: 'lost'; failure: DurabilityFailure }
  | { kind: 'proof-failed'; failure: DurabilityFailure; err: unknown }
  | { kind: 'proven'; failure: DurabilityFailure; at: number };

/**
 * The engine's durability barrier, and what it knows after one failed. Contract:
 * - syncCommitted() resolves only when every transaction committed before the call is on
 *   disk. Once a sync has failed it rejects with StoreNotDurable, without syncing, until a
 *   proof succeeds: the kernel may have dropped the pages that failed to write (marked clean
 *   after the error, Linux), so a later sync that succeeds says nothing about them.
 * - repairBeforeProof() registers work that must be done before the store may count as
 *   durable again (the compensation of a commit whose sync failed). It is run at once and,
 *   until it succeeds, again before every proof; no proof succeeds while one is outstanding.
 */
export interface StoreDurability {
  syncCommitted(): Promise<void>;
  /** Undefined while the store is durable. */
  failure(): DurabilityFailure | undefined;
  /** Resolves when the repair is done; rejects when its first run fails (it is retried before each proof). */
  repairBeforeProof(repair: () => Promise<void>): Promise<void>;
  /** A listener that comes while the store is not durable hears of it at once, as `lost`. */
  onChange(listener: (event: DurabilityEvent) => void): void;
  /** Stops proving and waits for an attempt under way. */
  close(): Promise<void>;
}

export interface ProvenDurabilityOptions {
  /** The engine's own sync of everything committed so far, and what it syncs, for the operator. */
  sync(): Promise<void>;
  syncName: string;
  /** Proves the store durable again after a failed sync, or rejects. */
  prove(): Promise<void>;
  now?: () => number;
  /** The first proof attempt this long after the failure, doubling up to maxMs between attempts. */
  proofRetry?: { initialMs: number; maxMs: number };
}

/**
 * Failed proofs are retried: soon, because a transient error (a path failover, a full thin
 * pool extended) often clears in seconds; at most every 15 s, because each proof rewrites the
 * whole WAL into the database file and checks every page.
 */
const PROOF_RETRY = { initialMs: 250, maxMs: 15_000 };

export interface ProvenDurability extends StoreDurability {
  /**
   * Proves the store now, before anything trusts it (a WAL left by a run that did not end
   * with a checkpoint); resolves after this first attempt. If it fails, the store is not
   * durable from here, named `what`, and the proof is retried as after a failed sync.
   */
  proveFirst(what: string): Promise<void>;
}

/** A store that is durable after each successful sync until one fails, and then only once proven again (see the contract above). */
export function provenDurability(o: ProvenDurabilityOptions): ProvenDurability {
  const now = o.now ?? Date.now;
  const retry = o.proofRetry ?? PROOF_RETRY;
  const listeners: ((event: DurabilityEvent) => void)[] = [];
  const repairs = new Set<Repair>();
  let failure: DurabilityFailure | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  let closed = false;
  let waitMs = retry.initialMs;

  const emit = (event: DurabilityEvent) => {
    for (const listener of listeners) listener(event);
  };

  // One sync at a time, and a caller that comes while one runs waits for the next: the
  // descriptor reports a writeback error once (Linux errseq), so of two overlapping syncs the
  // second could return 0 for pages the first was told had failed.
  const syncInTurn = coalesce(async (batch: undefined[]) => {
    if (failure) throw new StoreNotDurable(failure);
    try {
      await o.sync();
    } catch (err) {
      lose(o.syncName, err);
      throw new StoreNotDurable(failure ?? lostFailure(o.syncName, err, now()), err);
    }
    return batch;
  });

  function lose(what: string, err: unknown): void {
    if (failure || closed) return;
    failure = lostFailure(what, err, now());
    waitMs = retry.initialMs;
    emit({ kind: 'lost', failure: { ...failure } });
    schedule();
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      attempt = proveOnce().finally(() => {
        attempt = undefined;
      });
    }, waitMs);
    timer.unref();
  }

  async function proveOnce(): Promise<void> {
    const lost = failure;
    if (!lost || closed) return;
    try {
      // A repair registered while the proof ran is outstanding: the proof does not cover it.
      do {
        for (const repair of [...repairs]) await runRepair(repair);
        await o.prove();
      } while (repairs.size > 0);
    } catch (err) {
      lost.proofAttempts += 1;
      lost.lastProofError = errorText(err);
      emit({ kind: 'proof-failed', failure: { ...lost }, err });
      waitMs = Math.min(retry.maxMs, waitMs * 2);
      return schedule();
    }
    if (closed) return;
    failure = undefined;
    emit({ kind: 'proven', failure: { ...lost }, at: now() });
  }

  return {
    syncCommitted: () => syncInTurn(undefined),
    failure: () => (failure ? { ...failure } : undefined),
    repairBeforeProof(work) {
      const repair: Repair = { work, running: undefined };
      repairs.add(repair);
      return runRepair(repair);
    },
    onChange(listener) {
      listeners.push(listener);
      if (failure) listener({ kind: 'lost', failure: { ...failure } });
    },
    async proveFirst(what) {
      await o.prove().catch((err: unknown) => lose(what, err));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await attempt;
    },
  };

  function runRepair(repair: Repair): Promise<void> {
    repair.running ??= repair
      .work()
      .then(() => {
        repairs.delete(repair);
      })
      .finally(() => {
        repair.running = undefined;
      });
    return repair.running;
  }
}

interface Repair {
  work: () => Promise<void>;
  running: Promise<void> | undefined;
}

/** PostgreSQL: a commit it acknowledged is durable, and a failed fsync is its own to recover from (it stops and replays its WAL). */
export function durableEngine(): StoreDurability {
  return {
    syncCommitted: async () => undefined,
    failure: () => undefined,
    repairBeforeProof: (repair) => repair(),
    onChange: () => undefined,
    close: async () => undefined,
  };
}

function lostFailure(sync: string, err: unknown, at: number): DurabilityFailure {
  return { sync, code: codeOf(err) ?? 'unknown', message: errorText(err), since: at, proofAttempts: 0, lastProofError: undefined };
}

function codeOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SQLite's messages ("disk I/O error") do not name their code (SQLITE_IOERR_FSYNC); Node's do. */
function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = codeOf(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
