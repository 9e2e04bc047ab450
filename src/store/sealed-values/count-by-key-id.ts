import { sql } from 'kysely';
import type { SealedCount } from '../../secure/sealed-columns.js';
import type { Db } from '../tables.js';
import { sealedTable } from './sealed-tables.js';

/** How many values each column holds per key id, counted by the database from the v2 prefix (`v2.<11-character kid>.`). */
export async function countByKeyId(db: Db, names: readonly string[]): Promise<SealedCount[]> {
  const counts: SealedCount[] = [];
  for (const name of names) {
    const column = sealedTable(name);
    const value = sql.ref(column.column);
    const { rows } = await sql<{ key_id: string | null; n: number | string }>`
      select case when ${value} like 'v2.%' then substr(${value}, 4, 11) end as key_id, count(*) as n
      from ${sql.table(column.table)} where ${value} is not null group by key_id`.execute(db);
    for (const row of rows) counts.push({ column: name, keyId: row.key_id, values: Number(row.n) });
  }
  return counts;
}
