import { type KeyRing, UnsealError } from './key-encryption.js';
import { SEALED_COLUMNS, type SealedColumn, type SealedValue, type SealedValueStore } from './sealed-columns.js';

export interface ColumnRewrap {
  /** `table.column`. */
  column: string;
  /** Values sealed again under the current key. */
  rewrapped: number;
  /** Values changed by another writer between read and write: left as that writer made them. */
  changedMeanwhile: number;
  /** Ids of rows whose value no key of the ring opens (altered, or under a key the ring lacks): left untouched. */
  unreadable: string[];
  /** Values not under the current key once the pass is over: 0 unless something above is non-zero. */
  remaining: number;
}

export interface RewrapReport {
  keyId: string;
  columns: ColumnRewrap[];
  rewrapped: number;
  remaining: number;
}

export const REWRAP_BATCH = 200;

/**
 * Seals every value that is not v2 under the current key again under it: open with the ring,
 * seal, write back only if unchanged. Only the small sealed values change; message bodies
 * stay as they are in the spool, encrypted under their own data keys (envelope encryption).
 * One transaction per batch keeps the write lock short beside a running gateway.
 */
export async function rewrapAll(sealed: SealedValueStore, ring: KeyRing, options: { batchSize?: number } = {}): Promise<RewrapReport> {
  const columns: ColumnRewrap[] = [];
  for (const column of SEALED_COLUMNS) columns.push(await rewrapColumn(sealed, ring, column, options.batchSize ?? REWRAP_BATCH));
  // Instances sharing the store now need the new key (src/store/shared-keys.ts).
  await sealed.recordKeyEncryptionKey(ring.currentKeyId, Date.now());
  return {
    keyId: ring.currentKeyId,
    columns,
    rewrapped: columns.reduce((sum, c) => sum + c.rewrapped, 0),
    remaining: columns.reduce((sum, c) => sum + c.remaining, 0),
  };
}

async function rewrapColumn(sealed: SealedValueStore, ring: KeyRing, column: SealedColumn, batchSize: number): Promise<ColumnRewrap> {
  const report: ColumnRewrap = { column: column.column, rewrapped: 0, changedMeanwhile: 0, unreadable: [], remaining: 0 };
  for await (const batch of sealed.batches(column.column, batchSize)) {
    const changes = batch.flatMap((value) => (ring.needsRewrap(value.sealed) ? resealed(ring, column, value, report) : []));
    if (changes.length === 0) continue;
    const { replaced, changedMeanwhile } = await sealed.replace(column.column, changes);
    report.rewrapped += replaced;
    report.changedMeanwhile += changedMeanwhile;
  }
  report.remaining = await countRemaining(sealed, ring, column, batchSize);
  return report;
}

/** Outside the transaction: the crypto never holds the write lock. */
function resealed(ring: KeyRing, column: SealedColumn, value: SealedValue, report: ColumnRewrap): (SealedValue & { replacement: string })[] {
  const context = { purpose: column.purpose, id: value.id };
  let plaintext: Buffer;
  try {
    plaintext = ring.open(value.sealed, context);
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    report.unreadable.push(value.id);
    return [];
  }
  const replacement = ring.seal(plaintext, context);
  plaintext.fill(0);
  return [{ ...value, replacement }];
}

/** A fresh read: what another writer sealed under an old key during the pass counts too. */
async function countRemaining(sealed: SealedValueStore, ring: KeyRing, column: SealedColumn, batchSize: number): Promise<number> {
  let remaining = 0;
  for await (const batch of sealed.batches(column.column, batchSize)) remaining += batch.filter((value) => ring.needsRewrap(value.sealed)).length;
  return remaining;
}
