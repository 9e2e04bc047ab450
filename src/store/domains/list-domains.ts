import type { PageRequest } from '../../directory/context.js';
import type { DomainStatus, StoredDomain } from '../../directory/domain-store.js';
import type { Db } from '../tables.js';
import { toStoredDomain, withAddressCount } from './find-domain.js';

export async function listDomains(db: Db, statuses: DomainStatus[], page: PageRequest): Promise<{ items: StoredDomain[]; total: number }> {
  const total = await db
    .selectFrom('domains')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', 'in', statuses)
    .executeTakeFirst();
  const rows = await withAddressCount(db).where('status', 'in', statuses).orderBy('name').limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toStoredDomain), total: Number(total?.n ?? 0) };
}
