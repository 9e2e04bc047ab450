import type { Config } from '../config/schema.js';
import { newId } from '../lib/ids.js';
import { DirectoryError } from '../model/directory-error.js';
import type { AddressChanges, AddressReads, AddressStore, StoredAddress } from './address-store.js';
import type { AddressConfig } from './addresses.js';
import { type Address, type AddressKind, type AddressSource, claimable, claimRules, findAddress, insertAlias, lookupKey } from './addresses.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

export type SyncSource = Exclude<AddressSource, 'manual'>;

/** A directory user as a sync sees it: its mailbox, its other addresses, and whether it is active. */
export interface SyncedUser {
  address: string;
  externalId: string | null;
  description: string;
  active: boolean;
  aliases: string[];
  /** A directory group's shared mailbox is a functional account; a user's mailbox a support address. */
  kind?: AddressKind | undefined;
}

export interface SyncFilter {
  address?: string | undefined;
  externalId?: string | undefined;
  kind?: AddressKind | undefined;
}

/**
 * The addresses a directory sync owns. Every change is confined to rows of its own source: a
 * manual address (or an alias of one) is never changed or removed, and claiming its mailbox is
 * a conflict naming it — the seed's "exclude the hand-made account from the sync" cannot be
 * forgotten because there is nothing to exclude.
 */
/** What a sync reads of the configuration: the address rules and `directorySync`. */
export type AddressSyncConfig = AddressConfig & Pick<Config, 'directorySync'>;

export function addressSync(
  stores: { addresses: AddressStore },
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  config: AddressSyncConfig,
  source: SyncSource,
) {
  const { addresses } = stores;
  const rules = claimRules(config);
  // The secure subdomain's aliases come from a per-domain rule, not from the directory.
  const derived = (user: SyncedUser): SyncedUser => {
    const at = user.address.lastIndexOf('@');
    const domain = user.address.slice(at + 1);
    const extra = config.directorySync.aliasDomains.filter((r) => r.from === domain).map((r) => `${user.address.slice(0, at)}@${r.to}`);
    return { ...user, aliases: [...user.aliases, ...extra] };
  };
  const changed = async <T>(work: (tx: AddressChanges, now: number) => Promise<T>): Promise<T> => {
    const now = deps.clock.now();
    const result = await addresses.change((tx) => work(tx, now));
    // Given a transaction (a pull's dry run), the change is made inside it and goes with it.
    if (!addresses.inTransaction) await deps.syncCommitted();
    return result;
  };
  const owned = async (tx: AddressReads, id: string) => {
    const row = await tx.findById(id);
    if (!row || row.source !== source) throw new DirectoryError('not_found', `no ${source} user ${id}`);
    return row;
  };
  const audit = (tx: AddressChanges, actor: Actor, action: string, address: string, detail: Record<string, unknown>, now: number) =>
    tx.audit(actor, { action, targetType: 'address', targetId: address, detail: { source, ...detail } }, now);

  return {
    async create(given: SyncedUser, actor: Actor): Promise<Address> {
      const user = derived(given);
      return changed(async (tx, now) => {
        await refuseManual(tx, user.address, 'userName');
        const domain = await claimable(tx, rules, user.address, 'userName');
        const row: StoredAddress = {
          id: newId('adr'),
          domainId: domain.id,
          address: user.address,
          kind: user.kind ?? 'support',
          description: user.description.trim(),
          createdAt: now,
          source,
          externalId: user.externalId,
          suspendedAt: user.active ? null : now,
        };
        await tx.insert(row);
        for (const [i, alias] of unique(user.aliases, user.address).entries()) await insertAlias(tx, rules, row, alias, `emails.${i}`, now);
        await audit(tx, actor, 'address.sync_add', row.address, { id: row.id, externalId: user.externalId, active: user.active, aliases: user.aliases }, now);
        return findAddress(tx, row.address);
      });
    },

    async get(id: string): Promise<Address> {
      const row = await owned(addresses, id);
      return findAddress(addresses, row.address);
    },

    list: async (page: PageRequest, filter: SyncFilter = {}): Promise<Page<Address>> => {
      const found = await addresses.page(page, {
        source,
        address: filter.address !== undefined ? lookupKey(filter.address) : undefined,
        externalId: filter.externalId,
        kind: filter.kind,
      });
      return { ...found, ...page };
    },

    /** The user as the directory now has it: description, active state and aliases follow it; the mailbox may be renamed. */
    async replace(id: string, given: SyncedUser, actor: Actor): Promise<Address> {
      const user = derived(given);
      return changed(async (tx, now) => {
        const row = await owned(tx, id);
        const before = await findAddress(tx, row.address);
        let address = row.address;
        if (user.address !== row.address) {
          await refuseManual(tx, user.address, 'userName');
          const domain = await claimable(tx, rules, user.address, 'userName');
          await tx.update(id, { address: user.address, domainId: domain.id });
          address = user.address;
        }
        const suspendedAt = user.active ? null : (row.suspendedAt ?? now);
        await tx.update(id, { description: user.description.trim(), externalId: user.externalId, suspendedAt });
        const wanted = unique(user.aliases, address);
        const gone = before.aliases.filter((a) => !wanted.includes(a));
        if (gone.length > 0) await tx.removeAliases(id, gone);
        const fresh = { ...row, address };
        for (const [i, alias] of wanted.entries()) if (!before.aliases.includes(alias)) await insertAlias(tx, rules, fresh, alias, `emails.${i}`, now);
        const after = await findAddress(tx, address);
        if (before.suspendedAt === null && after.suspendedAt !== null) await audit(tx, actor, 'address.suspend', address, { id }, now);
        if (before.suspendedAt !== null && after.suspendedAt === null) await audit(tx, actor, 'address.resume', address, { id }, now);
        const detail = {
          id,
          ...(before.address !== after.address ? { renamedFrom: before.address } : {}),
          ...(before.description !== after.description ? { description: after.description } : {}),
          ...(gone.length > 0 ? { aliasesRemoved: gone } : {}),
          ...(after.aliases.some((a) => !before.aliases.includes(a)) ? { aliasesAdded: after.aliases.filter((a) => !before.aliases.includes(a)) } : {}),
        };
        if (Object.keys(detail).length > 1) await audit(tx, actor, 'address.sync_update', address, detail, now);
        return after;
      });
    },

    async remove(id: string, actor: Actor): Promise<Address> {
      return changed(async (tx, now) => {
        const row = await owned(tx, id);
        const removed = await findAddress(tx, row.address);
        await tx.remove(id);
        await audit(tx, actor, 'address.sync_remove', removed.address, { id, externalId: removed.externalId, aliases: removed.aliases }, now);
        return removed;
      });
    },
  };
}

export type AddressSync = ReturnType<typeof addressSync>;

function unique(aliases: string[], address: string): string[] {
  return [...new Set(aliases.map(lookupKey))].filter((a) => a !== lookupKey(address));
}

/** A mailbox entered by hand stays the administrator's: the sync names it instead of taking it. */
async function refuseManual(tx: AddressReads, mailbox: string, field: string): Promise<void> {
  const key = lookupKey(mailbox);
  const row = await tx.findByAddress(key);
  if (row?.source === 'manual')
    throw new DirectoryError(
      'conflict',
      `${key} is a manual address (entered in Relaygate, not synced): a sync never changes it; remove it there first (relaygate address remove ${key}) to let the directory own it`,
      field,
    );
}
