import { newId } from '../lib/ids.js';
import { DirectoryError } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { AddressStore } from './address-store.js';
import type { AddressSyncConfig } from './address-sync.js';
import { addressSync } from './address-sync.js';
import { type Address, findAddress } from './addresses.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import type { DirectorySyncStore, ScimGroupChanges, ScimGroupReads, StoredScimGroup } from './directory-sync-store.js';

/** A directory group as SCIM sends it: its mail addresses (the first is the mailbox) and its members' user ids. */
export interface GroupInput {
  displayName: string;
  externalId: string | null;
  emails: string[];
  members: string[];
}

export interface ScimGroup {
  id: string;
  displayName: string;
  externalId: string | null;
  /** The shared mailbox with its aliases; null for a group without mail. */
  address: Address | null;
  members: { id: string; address: string }[];
  createdAt: number;
  updatedAt: number;
}

export interface GroupFilter {
  displayName?: string | undefined;
  externalId?: string | undefined;
}

/**
 * SCIM groups (RFC 7643 §4.2). A group that carries a mail address becomes a synced functional
 * address — a shared mailbox such as support@example.com — with its other addresses as aliases,
 * under the same rules as a user's (claimed domains, the secure-subdomain alias rule, a manual
 * address never taken). Membership is kept and returned as the directory sent it: the gateway
 * routes no mail by it. Each change is audited; the mailbox changes are audited as the users' are.
 */
export function scimGroups(
  stores: { addresses: AddressStore; directorySync: DirectorySyncStore },
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  config: AddressSyncConfig,
  organisationId: string = DEFAULT_ORGANISATION_ID,
) {
  const { addresses, directorySync } = stores;

  const load = async (reads: ScimGroupReads, addressStore: AddressStore, row: StoredScimGroup): Promise<ScimGroup> => {
    const address = row.addressId ? await reads.addressOf(row.addressId) : undefined;
    // A member whose user was deleted since is no longer listed.
    const members = await reads.members(row.id);
    return {
      id: row.id,
      displayName: row.displayName,
      externalId: row.externalId,
      address: address !== undefined ? await findAddress(addressStore, address) : null,
      members,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  };
  const loadIn = (tx: ScimGroupChanges, row: StoredScimGroup) => load(tx, tx.addresses, row);
  const owned = async (reads: ScimGroupReads, id: string): Promise<StoredScimGroup> => {
    const row = await reads.findGroup(organisationId, id);
    if (!row) throw new DirectoryError('not_found', `no SCIM group ${id}`);
    return row;
  };
  /** Members must be users this sync made: an unknown id is refused naming it, and nothing changes. */
  const checkMembers = async (tx: ScimGroupChanges, members: string[]): Promise<string[]> => {
    const wanted = [...new Set(members)];
    if (wanted.length === 0) return [];
    const known = await tx.scimUsersAmong(wanted);
    const missing = wanted.filter((m) => !known.includes(m));
    if (missing.length > 0) throw new DirectoryError('invalid', `no SCIM user ${missing.join(', ')}: members must be users provisioned here`, 'members');
    return wanted;
  };
  /** The mailbox follows the group's emails: made, changed or removed in the group's own transaction. */
  const syncMailbox = async (tx: ScimGroupChanges, row: StoredScimGroup, input: GroupInput, actor: Actor): Promise<string | null> => {
    const mailboxes = addressSync({ addresses: tx.addresses }, deps, config, 'scim');
    const [mailbox, ...aliases] = input.emails;
    const user = { address: mailbox ?? '', externalId: input.externalId, description: input.displayName, active: true, aliases, kind: 'functional' as const };
    if (row.addressId && !mailbox) {
      await mailboxes.remove(row.addressId, actor);
      return null;
    }
    if (!mailbox) return null;
    if (row.addressId) return (await mailboxes.replace(row.addressId, user, actor)).id;
    return (await mailboxes.create(user, actor)).id;
  };
  const changed = async <T>(work: (tx: ScimGroupChanges, now: number) => Promise<T>): Promise<T> => {
    const now = deps.clock.now();
    const result = await directorySync.changeGroups((tx) => work(tx, now));
    await deps.syncCommitted();
    return result;
  };
  const audit = (tx: ScimGroupChanges, actor: Actor, action: string, id: string, detail: Record<string, unknown>, now: number) =>
    tx.audit(actor, { action, targetType: 'scim-group', targetId: id, detail }, now);
  const summary = (g: ScimGroup) => ({ displayName: g.displayName, externalId: g.externalId, mailbox: g.address?.address ?? null, members: g.members.length });

  return {
    async create(input: GroupInput, actor: Actor): Promise<ScimGroup> {
      return changed(async (tx, now) => {
        const members = await checkMembers(tx, input.members);
        const row: StoredScimGroup = {
          id: newId('grp'),
          organisationId,
          displayName: input.displayName,
          externalId: input.externalId,
          addressId: null,
          createdAt: now,
          updatedAt: now,
        };
        row.addressId = await syncMailbox(tx, row, input, actor);
        await tx.insertGroup(row);
        await tx.setMembers(row.id, members);
        const group = await loadIn(tx, row);
        await audit(tx, actor, 'scim.group.add', row.id, summary(group), now);
        return group;
      });
    },

    async get(id: string): Promise<ScimGroup> {
      return load(directorySync, addresses, await owned(directorySync, id));
    },

    async list(page: PageRequest, filter: GroupFilter = {}): Promise<Page<ScimGroup>> {
      const { items: rows, total } = await directorySync.listGroups(organisationId, page, filter);
      const items = [];
      for (const row of rows) items.push(await load(directorySync, addresses, row));
      return { items, total, ...page };
    },

    /** The group as the directory now has it (PUT, or a PATCH applied to what it had). */
    async replace(id: string, input: GroupInput, actor: Actor): Promise<ScimGroup> {
      return changed(async (tx, now) => {
        const row = await owned(tx, id);
        const before = await loadIn(tx, row);
        const members = await checkMembers(tx, input.members);
        const addressId = await syncMailbox(tx, row, input, actor);
        await tx.updateGroup(id, { displayName: input.displayName, externalId: input.externalId, addressId, updatedAt: now });
        await tx.setMembers(id, members);
        const after = await loadIn(tx, { ...row, displayName: input.displayName, externalId: input.externalId, addressId, updatedAt: now });
        const added = after.members.filter((m) => !before.members.some((b) => b.id === m.id)).map((m) => m.address);
        const removed = before.members.filter((m) => !after.members.some((a) => a.id === m.id)).map((m) => m.address);
        await audit(
          tx,
          actor,
          'scim.group.update',
          id,
          { ...summary(after), ...(added.length ? { membersAdded: added } : {}), ...(removed.length ? { membersRemoved: removed } : {}) },
          now,
        );
        return after;
      });
    },

    /** The group, its memberships and its mailbox go. */
    async remove(id: string, actor: Actor): Promise<ScimGroup> {
      return changed(async (tx, now) => {
        const row = await owned(tx, id);
        const group = await loadIn(tx, row);
        if (row.addressId) await addressSync({ addresses: tx.addresses }, deps, config, 'scim').remove(row.addressId, actor);
        await tx.removeGroup(id);
        await audit(tx, actor, 'scim.group.remove', id, summary(group), now);
        return group;
      });
    },
  };
}

export type ScimGroups = ReturnType<typeof scimGroups>;
