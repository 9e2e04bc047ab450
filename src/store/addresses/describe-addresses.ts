import type { Address, StoredAddress } from '../../directory/address-store.js';
import type { Database, Db } from '../tables.js';

type AddressRow = Database['addresses'];

export function toStoredAddress(row: AddressRow): StoredAddress {
  return {
    id: row.id,
    domainId: row.domain_id,
    address: row.address,
    kind: row.kind,
    description: row.description,
    createdAt: Number(row.created_at),
    source: row.source,
    externalId: row.external_id,
    suspendedAt: row.suspended_at === null ? null : Number(row.suspended_at),
  };
}

export async function describeAddress(db: Db, address: StoredAddress): Promise<Address> {
  const domain = await db.selectFrom('domains').select('name').where('id', '=', address.domainId).executeTakeFirstOrThrow();
  const [view] = await withAliases(db, [{ ...address, domain: domain.name }]);
  return view as Address;
}

/** The addresses with their aliases, each list in alias order. */
export async function withAliases(db: Db, addresses: (StoredAddress & { domain: string })[]): Promise<Address[]> {
  const ids = addresses.map((r) => r.id);
  const aliases =
    ids.length === 0 ? [] : await db.selectFrom('address_aliases').select(['address_id', 'alias']).where('address_id', 'in', ids).orderBy('alias').execute();
  return addresses.map((row) => ({
    id: row.id,
    address: row.address,
    kind: row.kind,
    description: row.description,
    domain: row.domain,
    aliases: aliases.filter((a) => a.address_id === row.id).map((a) => a.alias),
    createdAt: row.createdAt,
    source: row.source,
    externalId: row.externalId,
    suspendedAt: row.suspendedAt,
  }));
}
