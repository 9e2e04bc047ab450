import type { Db } from '../tables.js';

/** Domains whose keys wait on DNS or on time: a pending key to see, a retiring one to retire. */
export async function domainsToCheck(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('dkim_keys')
    .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
    .select('domains.name')
    .distinct()
    .where('dkim_keys.state', 'in', ['pending', 'retiring'])
    .execute();
  return rows.map((r) => r.name);
}
