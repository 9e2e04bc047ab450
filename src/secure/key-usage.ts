import { type KeyRing, UnsealError } from './key-encryption.js';
import { SEALED_COLUMNS, type SealedValueStore } from './sealed-columns.js';

export interface ColumnKeyUsage {
  /** `table.column`. */
  column: string;
  /** Values per key id, the ids of keys the ring lacks included. */
  byKey: Record<string, number>;
  /** Values in the v1 format (no key id): counted under the key that opens them, rewrapped to v2 by the next rewrap. */
  v1: number;
  /** v1 values no key of the ring opens, and values that are not sealed values at all. */
  unreadable: number;
  /** Values not v2 under the current key: what `relaygate key rewrap` would seal again. */
  needRewrap: number;
}

export interface KeyUsage {
  columns: ColumnKeyUsage[];
  byKey: Record<string, number>;
  v1: number;
  unreadable: number;
  needRewrap: number;
}

/**
 * How many sealed values each key holds: what tells an operator whether a previous key can
 * go. A v2 value is counted by the key id it carries, without opening it; a v1 value carries
 * none, so the ring's keys are tried on it.
 */
export async function keyUsage(sealed: Pick<SealedValueStore, 'batches'>, ring: KeyRing, batchSize = 500): Promise<KeyUsage> {
  const columns: ColumnKeyUsage[] = [];
  for (const column of SEALED_COLUMNS) {
    const usage: ColumnKeyUsage = { column: column.column, byKey: {}, v1: 0, unreadable: 0, needRewrap: 0 };
    for await (const batch of sealed.batches(column.column, batchSize)) {
      for (const value of batch) {
        const keyId = keyIdOrUndefined(ring, value.sealed, { purpose: column.purpose, id: value.id });
        if (keyId === undefined) usage.unreadable += 1;
        else usage.byKey[keyId] = (usage.byKey[keyId] ?? 0) + 1;
        if (keyId !== undefined && value.sealed.startsWith('v1.')) usage.v1 += 1;
        if (ring.needsRewrap(value.sealed)) usage.needRewrap += 1;
      }
    }
    columns.push(usage);
  }
  const byKey: Record<string, number> = {};
  for (const column of columns) for (const [keyId, n] of Object.entries(column.byKey)) byKey[keyId] = (byKey[keyId] ?? 0) + n;
  return {
    columns,
    byKey,
    v1: columns.reduce((sum, c) => sum + c.v1, 0),
    unreadable: columns.reduce((sum, c) => sum + c.unreadable, 0),
    needRewrap: columns.reduce((sum, c) => sum + c.needRewrap, 0),
  };
}

function keyIdOrUndefined(ring: KeyRing, sealed: string, context: { purpose: string; id: string }): string | undefined {
  try {
    return ring.sealedUnder(sealed, context);
  } catch (err) {
    if (err instanceof UnsealError) return undefined;
    throw err;
  }
}
