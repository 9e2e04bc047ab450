import type { AuditEntry } from '../audit/audit-log.js';
import type { AddressKind } from './address-kinds.js';
import type { Actor, PageRequest } from './context.js';
import type { DomainStatus } from './domain-store.js';

/** Who owns the record: `manual` (console, CLI, API) or a sync (`scim`, `ldap`), which never touches a manual one. */
export type AddressSource = 'manual' | 'scim' | 'ldap';

export interface Address {
  id: string;
  address: string;
  kind: AddressKind;
  description: string;
  domain: string;
  /** Other addresses that reach the same mailbox, in any verified domain of the organisation. */
  aliases: string[];
  createdAt: number;
  /** `manual` (console, CLI, API) or the sync that owns it (`scim`, `ldap`): a sync never touches a manual one. */
  source: AddressSource;
  /** The directory's id for the user that owns a synced address. */
  externalId: string | null;
  /** Set while the directory user is deactivated: the address is kept but does not send. */
  suspendedAt: number | null;
}

/** An address as stored, without its domain's name and its aliases. */
export interface StoredAddress {
  id: string;
  domainId: string;
  address: string;
  kind: AddressKind;
  description: string;
  createdAt: number;
  source: AddressSource;
  externalId: string | null;
  suspendedAt: number | null;
}

/** The domain a new mailbox would live in. */
export interface ClaimedDomain {
  id: string;
  name: string;
  organisationId: string;
  status: DomainStatus;
}

/** Which addresses a page holds; every field given must match. */
export interface AddressQuery {
  /** The domain's (lowercase) name. */
  domain?: string | undefined;
  kind?: AddressKind | undefined;
  source?: AddressSource | undefined;
  address?: string | undefined;
  externalId?: string | undefined;
}

export interface AddressReads {
  /** The address of exactly this mailbox (not an alias). */
  findByAddress(address: string): Promise<StoredAddress | undefined>;
  findById(id: string): Promise<StoredAddress | undefined>;
  /** The address whose alias this mailbox is. */
  ownerOfAlias(alias: string): Promise<string | undefined>;
  /** The address with its domain's name and its aliases in order. */
  describe(address: StoredAddress): Promise<Address>;
  /** Address order, with domain and aliases; `total` counts every match. */
  page(page: PageRequest, query: AddressQuery): Promise<{ items: Address[]; total: number }>;
  /** The domain of this (lowercase) name, whatever its status or organisation. */
  domainNamed(name: string): Promise<ClaimedDomain | undefined>;
  /** The organisation of a domain by its id (which must exist). */
  organisationOfDomain(domainId: string): Promise<string>;
  /** Addresses in the domain plus aliases in it (of addresses anywhere). */
  countMailboxes(domain: { id: string; name: string }): Promise<number>;
  /** Names of the organisation's verified domains, sorted. */
  verifiedDomainsOf(organisationId: string): Promise<string[]>;
  /**
   * The active (not suspended) address of this mailbox in a verified domain; else the active
   * address in a verified domain that the mailbox is an alias of.
   */
  activeOwnerOf(mailbox: string): Promise<{ address: string; matchedAs: 'address' | 'alias'; kind: AddressKind; organisationId: string } | undefined>;
}

export interface AddressChanges extends AddressReads {
  insert(address: StoredAddress): Promise<void>;
  insertAlias(alias: { id: string; addressId: string; alias: string; createdAt: number }): Promise<void>;
  update(id: string, fields: Partial<Pick<StoredAddress, 'address' | 'domainId' | 'description' | 'externalId' | 'suspendedAt'>>): Promise<void>;
  /** Removes the address and, with it, its aliases. */
  remove(id: string): Promise<void>;
  /** Removes these aliases of the address; answers how many went. */
  removeAliases(addressId: string, aliases: string[]): Promise<number>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface AddressStore extends AddressReads {
  /**
   * Runs `work` in one transaction: every change and audit record in it commits together, or
   * none. A store opened on a transaction (a pull's dry run) runs it inside that one.
   */
  change<T>(work: (tx: AddressChanges) => Promise<T>): Promise<T>;
  /** True when the store is bound to an outer transaction, whose commit is its caller's. */
  readonly inTransaction: boolean;
}
