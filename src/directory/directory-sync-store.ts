import type { AuditEntry } from '../audit/audit-log.js';
import type { AddressStore } from './address-store.js';
import type { Actor, PageRequest } from './context.js';

/** A SCIM group as stored (RFC 7643 §4.2). */
export interface StoredScimGroup {
  id: string;
  organisationId: string;
  displayName: string;
  externalId: string | null;
  /** The group's shared mailbox (a synced functional address), when the directory gave it one. */
  addressId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ScimGroupReads {
  findGroup(organisationId: string, id: string): Promise<StoredScimGroup | undefined>;
  /** Groups in creation order (then id); every filter given must match; `total` counts every match. */
  listGroups(
    organisationId: string,
    page: PageRequest,
    filter: { displayName?: string | undefined; externalId?: string | undefined },
  ): Promise<{ items: StoredScimGroup[]; total: number }>;
  /** The group's members whose users still exist, in address order. */
  members(groupId: string): Promise<{ id: string; address: string }[]>;
  /** The mailbox of an address id, if it still exists. */
  addressOf(addressId: string): Promise<string | undefined>;
}

export interface ScimGroupChanges extends ScimGroupReads {
  /** The addresses inside this transaction: a group's mailbox changes with the group. */
  addresses: AddressStore;
  /** Of these ids, those that are SCIM users (synced support addresses). */
  scimUsersAmong(ids: string[]): Promise<string[]>;
  insertGroup(group: StoredScimGroup): Promise<void>;
  updateGroup(id: string, fields: Pick<StoredScimGroup, 'displayName' | 'externalId' | 'addressId' | 'updatedAt'>): Promise<void>;
  /** The group's members become exactly these user ids. */
  setMembers(groupId: string, members: string[]): Promise<void>;
  /** Removes the group and its memberships. */
  removeGroup(id: string): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

/** A pull's dry run: the addresses inside its transaction, and each step behind a savepoint. */
export interface DryRun {
  addresses: AddressStore;
  /** Runs `step` behind a savepoint: what it did is kept when it answers true, undone when false. */
  attempt(step: () => Promise<boolean>): Promise<boolean>;
}

export interface DirectorySyncStore extends ScimGroupReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  changeGroups<T>(work: (tx: ScimGroupChanges) => Promise<T>): Promise<T>;
  /** Of these mailboxes, those that are manual addresses. */
  manualAmong(addresses: string[]): Promise<string[]>;
  /**
   * Runs `work` in one transaction that is always rolled back, with the audit records appended
   * in it (the audit chain forgets them too).
   */
  dryRun(work: (run: DryRun) => Promise<void>): Promise<void>;
}
