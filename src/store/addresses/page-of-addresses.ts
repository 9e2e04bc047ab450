import type { Address, AddressQuery } from '../../directory/address-store.js';
import type { PageRequest } from '../../directory/context.js';
import type { Db } from '../tables.js';
import { toStoredAddress, withAliases } from './describe-addresses.js';

/** One page of addresses, with their domain and aliases, of those the query keeps; `total` counts them all. */
export async function pageOfAddresses(db: Db, page: PageRequest, filter: AddressQuery): Promise<{ items: Address[]; total: number }> {
  let query = db.selectFrom('addresses').innerJoin('domains', 'domains.id', 'addresses.domain_id');
  if (filter.source !== undefined) query = query.where('addresses.source', '=', filter.source);
  if (filter.domain !== undefined) query = query.where('domains.name', '=', filter.domain);
  if (filter.address !== undefined) query = query.where('addresses.address', '=', filter.address);
  if (filter.externalId !== undefined) query = query.where('addresses.external_id', '=', filter.externalId);
  if (filter.kind !== undefined) query = query.where('addresses.kind', '=', filter.kind);
  const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await query.selectAll('addresses').select('domains.name as domain').orderBy('addresses.address').limit(page.limit).offset(page.offset).execute();
  const items = await withAliases(
    db,
    rows.map((row) => ({ ...toStoredAddress(row), domain: row.domain })),
  );
  return { items, total: Number(total?.n ?? 0) };
}
