import { sql } from 'kysely';
import type { SealedValueStore } from '../../secure/sealed-columns.js';
import type { Db } from '../tables.js';
import { sealedTable } from './sealed-tables.js';

/**
 * Replaces each value only if it is still the one that was read: a value changed meanwhile
 * (a secret rotated, a message shredded) is left as its writer made it. One transaction per
 * call (a rewrap batch) keeps the write lock short beside a running gateway.
 */
export async function replaceSealed(db: Db, name: string, changes: Parameters<SealedValueStore['replace']>[1]): ReturnType<SealedValueStore['replace']> {
  const column = sealedTable(name);
  return db.transaction().execute(async (trx) => {
    const counts = { replaced: 0, changedMeanwhile: 0 };
    for (const change of changes) {
      const result = await sql`
        update ${sql.table(column.table)} set ${sql.ref(column.column)} = ${change.replacement}
        where ${sql.ref(column.idColumn)} = ${change.id} and ${sql.ref(column.column)} = ${change.sealed}`.execute(trx);
      if (Number(result.numAffectedRows ?? 0n) === 1) counts.replaced += 1;
      else counts.changedMeanwhile += 1;
    }
    return counts;
  });
}
