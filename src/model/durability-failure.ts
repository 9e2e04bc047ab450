// The store's durability failure as its users see it: the SMTP reply and readiness name it
// without reaching into src/store.

/** Why the store cannot promise to keep what it commits: a sync failed and nothing has proven the store since. */
export interface DurabilityFailure {
  /** What failed to sync, e.g. `fdatasync of relaygate.db-wal`. */
  sync: string;
  /** The errno code of the failed sync (EIO, ENOSPC, …), or `unknown`. */
  code: string;
  message: string;
  /** When the sync failed, epoch ms. */
  since: number;
  /** Proof attempts that failed since, and what the last one met. */
  proofAttempts: number;
  lastProofError: string | undefined;
}

/** What a commit that needs durability gets while the store is not durable. */
export class StoreNotDurable extends Error {
  readonly code = 'ERELAYGATE_NOT_DURABLE';
  readonly failure: DurabilityFailure;

  constructor(failure: DurabilityFailure, cause?: unknown) {
    super(`the store is not durable: ${describeDurabilityFailure(failure)}`, cause === undefined ? undefined : { cause });
    this.name = 'StoreNotDurable';
    this.failure = { ...failure };
  }
}

/** For /readyz and the log: what failed, when, and where the proof stands. */
export function describeDurabilityFailure(f: DurabilityFailure): string {
  const proofs =
    f.proofAttempts === 0
      ? 'proving it with a verified checkpoint'
      : `${f.proofAttempts} verified checkpoint${f.proofAttempts === 1 ? '' : 's'} failed so far, the last with ${f.lastProofError}; retrying`;
  return `${f.sync} failed with ${f.code} at ${new Date(f.since).toISOString()} (${f.message}); no mail is accepted until the store is proven durable (${proofs})`;
}
