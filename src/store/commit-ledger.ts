/**
 * Which committed messages this process may hand to its worker. A message's rows are visible
 * to a claim from its commit on, but the message is accepted only once the sync after that
 * commit succeeded; if the sync fails, the client is answered 451 and will send it again, so
 * this copy must never be delivered (a duplicate for every retrying client). Ids are entered
 * before their insert starts, so whatever order a claim and a commit reach the store in, a
 * claim that sees the rows finds the ids here.
 */
export interface CommitLedger {
  /** Before the insert: claims that see the rows meanwhile wait for the outcome. */
  begin(ids: string[]): CommitOutcome;
  /** Abandoned messages whose rows may still be there: the claim's SQL leaves them out. */
  excludedIds(): string[];
  /** Of these claimed ids, in order, those that may be delivered; waits for commits not yet confirmed. */
  deliverable(ids: string[]): Promise<string[]>;
}

export interface CommitOutcome {
  /** Synced: the messages are accepted. */
  confirmed(): void;
  /** Not committed (the transaction failed): there is nothing to deliver. */
  failed(): void;
  /** Committed, but the sync failed: never to be delivered by this process, whatever becomes of the rows. */
  abandoned(): void;
  /** The rows of abandoned messages are deleted: the claim's SQL need not leave them out any more. */
  undone(): void;
}

export function commitLedger(): CommitLedger {
  const unconfirmed = new Map<string, Promise<boolean>>();
  // Both grow only with failed syncs: the store refuses every commit from one until it is proven again.
  const abandoned = new Set<string>();
  const rowsLeft = new Set<string>();
  return {
    begin(ids) {
      let settle: (ok: boolean) => void = () => undefined;
      const outcome = new Promise<boolean>((resolve) => {
        settle = resolve;
      });
      for (const id of ids) unconfirmed.set(id, outcome);
      const end = (ok: boolean, kept?: Set<string>[]) => {
        for (const id of ids) {
          for (const set of kept ?? []) set.add(id);
          unconfirmed.delete(id);
        }
        settle(ok);
      };
      return {
        confirmed: () => end(true),
        failed: () => end(false),
        abandoned: () => end(false, [abandoned, rowsLeft]),
        undone: () => {
          for (const id of ids) rowsLeft.delete(id);
        },
      };
    },
    excludedIds: () => [...rowsLeft],
    async deliverable(ids) {
      const ok = await Promise.all(ids.map(async (id) => !abandoned.has(id) && (await (unconfirmed.get(id) ?? true))));
      return ids.filter((_, i) => ok[i]);
    },
  };
}
