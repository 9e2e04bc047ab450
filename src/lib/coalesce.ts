/**
 * Turns a batch writer into a per-item call: items that arrive while a batch is being
 * written wait and go together in the next one. Under load that shares one fsync or one
 * transaction among many callers; a lone caller pays nothing extra. Every item of a failed
 * batch is rejected with the batch's error.
 */
export function coalesce<T, R>(writeBatch: (batch: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let pending: { item: T; resolve(result: R): void; reject(err: unknown): void }[] = [];
  let writing = false;

  async function drain(): Promise<void> {
    writing = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const results = await writeBatch(batch.map((p) => p.item));
        for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    writing = false;
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!writing) void drain();
    });
}
