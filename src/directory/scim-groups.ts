import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { newId } from '../lib/ids.js';
import { DirectoryError } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Database, ScimGroupsTable } from '../store/tables.js';
import { addressSync } from './address-sync.js';
import { type Address, findAddress } from './addresses.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

type Trx = Kysely<Database>;

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
export function scimGroups(ctx: DirectoryContext, config: Config, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;

  const load = async (trx: Trx, row: ScimGroupsTable): Promise<ScimGroup> => {
    const address = row.address_id ? await trx.selectFrom('addresses').select('address').where('id', '=', row.address_id).executeTakeFirst() : undefined;
    // A member whose user was deleted since is no longer listed.
    const members = await trx
      .selectFrom('scim_group_members')
      .innerJoin('addresses', 'addresses.id', 'scim_group_members.member_id')
      .select(['addresses.id', 'addresses.address'])
      .where('scim_group_members.group_id', '=', row.id)
      .orderBy('addresses.address')
      .execute();
    return {
      id: row.id,
      displayName: row.display_name,
      externalId: row.external_id,
      address: address ? await findAddress(trx, address.address) : null,
      members,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  };
  const owned = async (trx: Trx, id: string): Promise<ScimGroupsTable> => {
    const row = await trx.selectFrom('scim_groups').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
    if (!row) throw new DirectoryError('not_found', `no SCIM group ${id}`);
    return row;
  };
  /** Members must be users this sync made: an unknown id is refused naming it, and nothing changes. */
  const checkMembers = async (trx: Trx, members: string[]): Promise<string[]> => {
    const wanted = [...new Set(members)];
    if (wanted.length === 0) return [];
    const known = await trx.selectFrom('addresses').select('id').where('id', 'in', wanted).where('source', '=', 'scim').where('kind', '=', 'support').execute();
    const missing = wanted.filter((m) => !known.some((k) => k.id === m));
    if (missing.length > 0) throw new DirectoryError('invalid', `no SCIM user ${missing.join(', ')}: members must be users provisioned here`, 'members');
    return wanted;
  };
  /** The mailbox follows the group's emails: made, changed or removed in the group's own transaction. */
  const syncMailbox = async (trx: Trx, row: ScimGroupsTable, input: GroupInput, actor: Actor): Promise<string | null> => {
    const mailboxes = addressSync({ ...ctx, db: trx }, config, 'scim');
    const [mailbox, ...aliases] = input.emails;
    const user = { address: mailbox ?? '', externalId: input.externalId, description: input.displayName, active: true, aliases, kind: 'functional' as const };
    if (row.address_id && !mailbox) {
      await mailboxes.remove(row.address_id, actor);
      return null;
    }
    if (!mailbox) return null;
    if (row.address_id) return (await mailboxes.replace(row.address_id, user, actor)).id;
    return (await mailboxes.create(user, actor)).id;
  };
  const setMembers = async (trx: Trx, id: string, members: string[]) => {
    await trx.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
    if (members.length > 0)
      await trx
        .insertInto('scim_group_members')
        .values(members.map((member_id) => ({ group_id: id, member_id })))
        .execute();
  };
  const changed = async <T>(work: (trx: Trx, now: number) => Promise<T>): Promise<T> => {
    const now = clock.now();
    const result = await db.transaction().execute((trx) => work(trx, now));
    await ctx.syncCommitted();
    return result;
  };
  const audit = (trx: Trx, actor: Actor, action: string, id: string, detail: Record<string, unknown>, now: number) =>
    appendAudit(trx, actor, { action, targetType: 'scim-group', targetId: id, detail }, now);
  const summary = (g: ScimGroup) => ({ displayName: g.displayName, externalId: g.externalId, mailbox: g.address?.address ?? null, members: g.members.length });

  return {
    async create(input: GroupInput, actor: Actor): Promise<ScimGroup> {
      return changed(async (trx, now) => {
        const members = await checkMembers(trx, input.members);
        const row: ScimGroupsTable = {
          id: newId('grp'),
          organisation_id: organisationId,
          display_name: input.displayName,
          external_id: input.externalId,
          address_id: null,
          created_at: now,
          updated_at: now,
        };
        row.address_id = await syncMailbox(trx, row, input, actor);
        await trx.insertInto('scim_groups').values(row).execute();
        await setMembers(trx, row.id, members);
        const group = await load(trx, row);
        await audit(trx, actor, 'scim.group.add', row.id, summary(group), now);
        return group;
      });
    },

    async get(id: string): Promise<ScimGroup> {
      return load(db, await owned(db, id));
    },

    async list(page: PageRequest, filter: GroupFilter = {}): Promise<Page<ScimGroup>> {
      const scoped = db
        .selectFrom('scim_groups')
        .where('organisation_id', '=', organisationId)
        .$if(filter.displayName !== undefined, (q) => q.where('display_name', '=', filter.displayName ?? ''))
        .$if(filter.externalId !== undefined, (q) => q.where('external_id', '=', filter.externalId ?? ''));
      const total = await scoped.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const rows = await scoped.selectAll().orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute();
      const items = [];
      for (const row of rows) items.push(await load(db, row));
      return { items, total: Number(total?.n ?? 0), ...page };
    },

    /** The group as the directory now has it (PUT, or a PATCH applied to what it had). */
    async replace(id: string, input: GroupInput, actor: Actor): Promise<ScimGroup> {
      return changed(async (trx, now) => {
        const row = await owned(trx, id);
        const before = await load(trx, row);
        const members = await checkMembers(trx, input.members);
        const addressId = await syncMailbox(trx, row, input, actor);
        await trx
          .updateTable('scim_groups')
          .set({ display_name: input.displayName, external_id: input.externalId, address_id: addressId, updated_at: now })
          .where('id', '=', id)
          .execute();
        await setMembers(trx, id, members);
        const after = await load(trx, { ...row, display_name: input.displayName, external_id: input.externalId, address_id: addressId, updated_at: now });
        const added = after.members.filter((m) => !before.members.some((b) => b.id === m.id)).map((m) => m.address);
        const removed = before.members.filter((m) => !after.members.some((a) => a.id === m.id)).map((m) => m.address);
        await audit(
          trx,
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
      return changed(async (trx, now) => {
        const row = await owned(trx, id);
        const group = await load(trx, row);
        if (row.address_id) await addressSync({ ...ctx, db: trx }, config, 'scim').remove(row.address_id, actor);
        await trx.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
        await trx.deleteFrom('scim_groups').where('id', '=', id).execute();
        await audit(trx, actor, 'scim.group.remove', id, summary(group), now);
        return group;
      });
    },
  };
}

export type ScimGroups = ReturnType<typeof scimGroups>;
