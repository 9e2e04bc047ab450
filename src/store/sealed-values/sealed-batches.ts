import { sql } from 'kysely';
import type { SealedValue } from '../../secure/sealed-columns.js';
import type { Db } from '../tables.js';
import { sealedTable } from './sealed-tables.js';

/** The column's non-null values in id order, a batch at a time: a table of any size is read in bounded memory. */
export async function* sealedBatches(db: Db, name: string, batchSize: number): AsyncGenerator<SealedValue[]> {
  const column = sealedTable(name);
  const id = sql.ref(column.idColumn);
  const value = sql.ref(column.column);
  let after = '';
  for (;;) {
    const { rows } = await sql<SealedValue>`
      select ${id} as id, ${value} as sealed from ${sql.table(column.table)}
      where ${value} is not null and ${id} > ${after}
      order by ${id} limit ${batchSize}`.execute(db);
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]?.id ?? after;
  }
}
