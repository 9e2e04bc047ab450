import type { Db } from '../store/tables.js';
import { type AddressKind, lookupKey, parseMailbox } from './addresses.js';

/**
 * Read side of the directory for sender authorization: which domains and mailboxes an
 * organisation has proven. Reads only, no audit; every call reads the store, so a removal
 * takes effect for the next message.
 */

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

export interface AddressOwner {
  /** The address asked about, in canonical (lowercase) spelling. */
  queried: string;
  /** The mailbox it reaches: the address itself, or the address it is an alias of. */
  address: string;
  matchedAs: 'address' | 'alias';
  kind: AddressKind;
  organisationId: string;
}

/**
 * Who owns a mailbox: the registered address (or the address an alias points to) and its
 * organisation, when both the mailbox's domain and the queried address's domain are verified
 * domains of that organisation. Undefined for anything else, including malformed input and
 * the null sender. Case-insensitive: the directory keeps addresses lowercase.
 */
export async function addressOwner(db: Db, address: string): Promise<AddressOwner | undefined> {
  // A root dot ends a domain in DNS text form only; mail addresses never carry it (RFC 5321 §2.3.5).
  const queried = lookupKey(address).replace(/\.$/, '');
  const parsed = parseMailbox(queried);
  if (typeof parsed === 'string') return undefined;
  const direct = await db
    .selectFrom('addresses')
    .innerJoin('domains', 'domains.id', 'addresses.domain_id')
    .select(['addresses.address', 'addresses.kind', 'domains.organisation_id'])
    .where('addresses.address', '=', queried)
    .where('domains.status', '=', 'verified')
    // A deactivated directory user's address is kept for its return, but owns no mail meanwhile.
    .where('addresses.suspended_at', 'is', null)
    .executeTakeFirst();
  if (direct) return { queried, address: direct.address, matchedAs: 'address', kind: direct.kind, organisationId: direct.organisation_id };
  const viaAlias = await db
    .selectFrom('address_aliases')
    .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
    .innerJoin('domains', 'domains.id', 'addresses.domain_id')
    .select(['addresses.address', 'addresses.kind', 'domains.organisation_id'])
    .where('address_aliases.alias', '=', queried)
    .where('domains.status', '=', 'verified')
    // A deactivated directory user's address is kept for its return, but owns no mail meanwhile.
    .where('addresses.suspended_at', 'is', null)
    .executeTakeFirst();
  if (!viaAlias) return undefined;
  // The alias's own domain must be proven too, by the same organisation.
  const aliasDomains = await verifiedDomainsOf(db, viaAlias.organisation_id);
  if (!aliasDomains.includes(parsed.domain)) return undefined;
  return { queried, address: viaAlias.address, matchedAs: 'alias', kind: viaAlias.kind, organisationId: viaAlias.organisation_id };
}
