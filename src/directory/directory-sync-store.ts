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

/** The organisation's saved LDAP source as stored: secrets sealed, JSON kept as text for the service to read. */
export interface StoredSyncSource {
  id: string;
  organisationId: string;
  kind: 'ldap';
  url: string;
  baseDn: string;
  filter: string;
  bindDn: string | null;
  bindPasswordSealed: string | null;
  caCert: string | null;
  clientCert: string | null;
  clientKeySealed: string | null;
  /** JSON of the attribute mapping (ldap-mapping.ts). */
  mappingJson: string;
  intervalMs: number;
  createdAt: number;
  updatedAt: number;
  lastRunAt: number | null;
  lastStatus: 'ok' | 'failed' | 'refused' | null;
  /** JSON of the last run's result (directory-pull.ts). */
  lastResultJson: string | null;
  lastError: string | null;
}

export interface SyncSourceChanges {
  findSource(organisationId: string): Promise<StoredSyncSource | undefined>;
  /** Saves the source in place of the one of the same id, if any. */
  replaceSource(source: StoredSyncSource): Promise<void>;
  /** Removes the organisation's LDAP source; answers its id, undefined when there was none. */
  removeSource(organisationId: string): Promise<string | undefined>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface DirectorySyncStore extends ScimGroupReads {
  /** The organisation's LDAP source. */
  findSource(organisationId: string): Promise<StoredSyncSource | undefined>;
  /** Runs `work` in one transaction: the source and its audit record commit together, or neither. */
  changeSources<T>(work: (tx: SyncSourceChanges) => Promise<T>): Promise<T>;
  /** Records a run's outcome on the source. */
  recordRun(id: string, run: { at: number; status: 'ok' | 'failed' | 'refused'; error: string | null; resultJson: string | null }): Promise<void>;
  /**
   * Runs `job` unless another holder (an instance sharing PostgreSQL, or `--now` beside it) runs
   * the job of this name right now, in which case it returns without running it.
   */
  exclusively(name: string, job: () => Promise<void>): Promise<void>;
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
