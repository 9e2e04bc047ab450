import type { PublishedDkimKey } from '../../dkim/dkim-key-store.js';
import type { Db } from '../tables.js';

/** The keys whose records a domain should publish now: every one not retired, newest first. */
export async function publishedKeys(db: Db, domainName: string): Promise<PublishedDkimKey[]> {
  const rows = await db
    .selectFrom('dkim_keys')
    .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
    .select(['dkim_keys.selector', 'dkim_keys.algorithm', 'dkim_keys.public_record', 'dkim_keys.state', 'domains.name'])
    .where('domains.name', '=', domainName)
    .where('dkim_keys.state', '!=', 'retired')
    .orderBy('dkim_keys.created_at', 'desc')
    .orderBy('dkim_keys.selector', 'desc')
    .execute();
  return rows.map((r) => ({ domain: r.name, selector: r.selector, algorithm: r.algorithm, publicRecord: r.public_record, state: r.state }));
}
