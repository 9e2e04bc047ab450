import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { newId } from '../lib/ids.js';
import { DirectoryError } from '../model/directory-error.js';
import type { Database } from '../store/tables.js';
import {
  type Address,
  type AddressKind,
  type AddressSource,
  claimable,
  claimRules,
  findAddress,
  insertAlias,
  lookupKey,
  pageOfAddresses,
} from './addresses.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

type Trx = Kysely<Database>;
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
export function addressSync(ctx: DirectoryContext, config: Config, source: SyncSource) {
  const { db, clock } = ctx;
  const rules = claimRules(config);
  // The secure subdomain's aliases come from a per-domain rule, not from the directory.
  const derived = (user: SyncedUser): SyncedUser => {
    const at = user.address.lastIndexOf('@');
    const domain = user.address.slice(at + 1);
    const extra = config.directorySync.aliasDomains.filter((r) => r.from === domain).map((r) => `${user.address.slice(0, at)}@${r.to}`);
    return { ...user, aliases: [...user.aliases, ...extra] };
  };
  const changed = async <T>(work: (trx: Trx, now: number) => Promise<T>): Promise<T> => {
    const now = clock.now();
    // Given a transaction (a pull's dry run), the change is made inside it and goes with it.
    if (db.isTransaction) return work(db, now);
    const result = await db.transaction().execute((trx) => work(trx, now));
    await ctx.syncCommitted();
    return result;
  };
  const owned = async (trx: Trx, id: string) => {
    const row = await trx.selectFrom('addresses').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.source !== source) throw new DirectoryError('not_found', `no ${source} user ${id}`);
    return row;
  };
  const audit = (trx: Trx, actor: Actor, action: string, address: string, detail: Record<string, unknown>, now: number) =>
    appendAudit(trx, actor, { action, targetType: 'address', targetId: address, detail: { source, ...detail } }, now);

  return {
    async create(given: SyncedUser, actor: Actor): Promise<Address> {
      const user = derived(given);
      return changed(async (trx, now) => {
        await refuseManual(trx, user.address, 'userName');
        const domain = await claimable(trx, rules, user.address, 'userName');
        const row = {
          id: newId('adr'),
          domain_id: domain.id,
          address: user.address,
          kind: user.kind ?? 'support',
          description: user.description.trim(),
          created_at: now,
          source,
          external_id: user.externalId,
          suspended_at: user.active ? null : now,
        };
        await trx.insertInto('addresses').values(row).execute();
        for (const [i, alias] of unique(user.aliases, user.address).entries()) await insertAlias(trx, rules, row, alias, `emails.${i}`, now);
        await audit(trx, actor, 'address.sync_add', row.address, { id: row.id, externalId: user.externalId, active: user.active, aliases: user.aliases }, now);
        return findAddress(trx, row.address);
      });
    },

    async get(id: string): Promise<Address> {
      const row = await owned(db, id);
      return findAddress(db, row.address);
    },

    list: (page: PageRequest, filter: SyncFilter = {}): Promise<Page<Address>> =>
      pageOfAddresses(db, page, (query) => {
        let narrowed = query.where('addresses.source', '=', source);
        if (filter.address !== undefined) narrowed = narrowed.where('addresses.address', '=', lookupKey(filter.address));
        if (filter.externalId !== undefined) narrowed = narrowed.where('addresses.external_id', '=', filter.externalId);
        if (filter.kind !== undefined) narrowed = narrowed.where('addresses.kind', '=', filter.kind);
        return narrowed;
      }),

    /** The user as the directory now has it: description, active state and aliases follow it; the mailbox may be renamed. */
    async replace(id: string, given: SyncedUser, actor: Actor): Promise<Address> {
      const user = derived(given);
      return changed(async (trx, now) => {
        const row = await owned(trx, id);
        const before = await findAddress(trx, row.address);
        let address = row.address;
        if (user.address !== row.address) {
          await refuseManual(trx, user.address, 'userName');
          const domain = await claimable(trx, rules, user.address, 'userName');
          await trx.updateTable('addresses').set({ address: user.address, domain_id: domain.id }).where('id', '=', id).execute();
          address = user.address;
        }
        const suspendedAt = user.active ? null : (row.suspended_at ?? now);
        await trx
          .updateTable('addresses')
          .set({ description: user.description.trim(), external_id: user.externalId, suspended_at: suspendedAt })
          .where('id', '=', id)
          .execute();
        const wanted = unique(user.aliases, address);
        const gone = before.aliases.filter((a) => !wanted.includes(a));
        if (gone.length > 0) await trx.deleteFrom('address_aliases').where('address_id', '=', id).where('alias', 'in', gone).execute();
        const fresh = { ...row, address };
        for (const [i, alias] of wanted.entries()) if (!before.aliases.includes(alias)) await insertAlias(trx, rules, fresh, alias, `emails.${i}`, now);
        const after = await findAddress(trx, address);
        if (before.suspendedAt === null && after.suspendedAt !== null) await audit(trx, actor, 'address.suspend', address, { id }, now);
        if (before.suspendedAt !== null && after.suspendedAt === null) await audit(trx, actor, 'address.resume', address, { id }, now);
        const detail = {
          id,
          ...(before.address !== after.address ? { renamedFrom: before.address } : {}),
          ...(before.description !== after.description ? { description: after.description } : {}),
          ...(gone.length > 0 ? { aliasesRemoved: gone } : {}),
          ...(after.aliases.some((a) => !before.aliases.includes(a)) ? { aliasesAdded: after.aliases.filter((a) => !before.aliases.includes(a)) } : {}),
        };
        if (Object.keys(detail).length > 1) await audit(trx, actor, 'address.sync_update', address, detail, now);
        return after;
      });
    },

    async remove(id: string, actor: Actor): Promise<Address> {
      return changed(async (trx, now) => {
        const row = await owned(trx, id);
        const removed = await findAddress(trx, row.address);
        await trx.deleteFrom('addresses').where('id', '=', id).execute();
        await audit(trx, actor, 'address.sync_remove', removed.address, { id, externalId: removed.externalId, aliases: removed.aliases }, now);
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
async function refuseManual(trx: Trx, mailbox: string, field: string): Promise<void> {
  const key = lookupKey(mailbox);
  const row = await trx.selectFrom('addresses').select(['address', 'source']).where('address', '=', key).executeTakeFirst();
  if (row?.source === 'manual')
    throw new DirectoryError(
      'conflict',
      `${key} is a manual address (entered in Relaygate, not synced): a sync never changes it; remove it there first (relaygate address remove ${key}) to let the directory own it`,
      field,
    );
}
