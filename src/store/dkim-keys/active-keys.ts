import type { ActiveDkimKey } from '../../dkim/dkim-key-store.js';
import type { Db } from '../tables.js';

/** The keys that sign for a domain now. */
export async function activeKeys(db: Db, domainName: string): Promise<ActiveDkimKey[]> {
  const rows = await db
    .selectFrom('dkim_keys')
    .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
    .select(['dkim_keys.id', 'dkim_keys.selector', 'dkim_keys.algorithm', 'dkim_keys.private_sealed', 'domains.name'])
    .where('domains.name', '=', domainName)
    .where('dkim_keys.state', '=', 'active')
    .orderBy('dkim_keys.algorithm', 'desc')
    .execute();
  return rows.map((row) => ({ id: row.id, domain: row.name, selector: row.selector, algorithm: row.algorithm, privateSealed: row.private_sealed }));
}
