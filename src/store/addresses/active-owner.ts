import type { AddressKind } from '../../directory/address-kinds.js';
import type { Db } from '../tables.js';

/** Names of the organisation's verified domains, sorted. Pending domains prove nothing and are left out. */
export async function verifiedDomainsOf(db: Db, organisationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('domains')
    .select('name')
    .where('organisation_id', '=', organisationId)
    .where('status', '=', 'verified')
    .orderBy('name')
    .execute();
  return rows.map((r) => r.name);
}

/** The address of a mailbox, or the one it is an alias of, in a verified domain and not suspended. */
export async function activeOwnerOf(
  db: Db,
  mailbox: string,
): Promise<{ address: string; matchedAs: 'address' | 'alias'; kind: AddressKind; organisationId: string } | undefined> {
  const direct = await db
    .selectFrom('addresses')
    .innerJoin('domains', 'domains.id', 'addresses.domain_id')
    .select(['addresses.address', 'addresses.kind', 'domains.organisation_id'])
    .where('addresses.address', '=', mailbox)
    .where('domains.status', '=', 'verified')
    // A deactivated directory user's address is kept for its return, but owns no mail meanwhile.
    .where('addresses.suspended_at', 'is', null)
    .executeTakeFirst();
  if (direct) return { address: direct.address, matchedAs: 'address', kind: direct.kind, organisationId: direct.organisation_id };
  const viaAlias = await db
    .selectFrom('address_aliases')
    .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
    .innerJoin('domains', 'domains.id', 'addresses.domain_id')
    .select(['addresses.address', 'addresses.kind', 'domains.organisation_id'])
    .where('address_aliases.alias', '=', mailbox)
    .where('domains.status', '=', 'verified')
    // A deactivated directory user's address is kept for its return, but owns no mail meanwhile.
    .where('addresses.suspended_at', 'is', null)
    .executeTakeFirst();
  return viaAlias && { address: viaAlias.address, matchedAs: 'alias', kind: viaAlias.kind, organisationId: viaAlias.organisation_id };
}
