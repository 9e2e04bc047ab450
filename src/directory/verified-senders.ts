import type { AddressReads } from './address-store.js';
import { type AddressKind, lookupKey, parseMailbox } from './addresses.js';

type SenderReads = Pick<AddressReads, 'verifiedDomainsOf' | 'activeOwnerOf'>;

/**
 * Read side of the directory for sender authorization: which domains and mailboxes an
 * organisation has proven. Reads only, no audit; every call reads the store, so a removal
 * takes effect for the next message.
 */

/** Names of the organisation's verified domains, sorted. Pending domains prove nothing and are left out. */
export function verifiedDomainsOf(addresses: SenderReads, organisationId: string): Promise<string[]> {
  return addresses.verifiedDomainsOf(organisationId);
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
export async function addressOwner(addresses: SenderReads, address: string): Promise<AddressOwner | undefined> {
  // A root dot ends a domain in DNS text form only; mail addresses never carry it (RFC 5321 §2.3.5).
  const queried = lookupKey(address).replace(/\.$/, '');
  const parsed = parseMailbox(queried);
  if (typeof parsed === 'string') return undefined;
  const owner = await addresses.activeOwnerOf(queried);
  if (!owner) return undefined;
  if (owner.matchedAs === 'address') return { queried, ...owner };
  // The alias's own domain must be proven too, by the same organisation.
  const aliasDomains = await addresses.verifiedDomainsOf(owner.organisationId);
  if (!aliasDomains.includes(parsed.domain)) return undefined;
  return { queried, ...owner };
}
