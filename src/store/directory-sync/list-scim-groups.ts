import type { PageRequest } from '../../directory/context.js';
import type { StoredScimGroup } from '../../directory/directory-sync-store.js';
import type { Database, Db } from '../tables.js';

export function toStoredGroup(row: Database['scim_groups']): StoredScimGroup {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    displayName: row.display_name,
    externalId: row.external_id,
    addressId: row.address_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function listScimGroups(
  db: Db,
  organisationId: string,
  page: PageRequest,
  filter: { displayName?: string | undefined; externalId?: string | undefined },
): Promise<{ items: StoredScimGroup[]; total: number }> {
  const scoped = db
    .selectFrom('scim_groups')
    .where('organisation_id', '=', organisationId)
    .$if(filter.displayName !== undefined, (q) => q.where('display_name', '=', filter.displayName ?? ''))
    .$if(filter.externalId !== undefined, (q) => q.where('external_id', '=', filter.externalId ?? ''));
  const total = await scoped.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await scoped.selectAll().orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toStoredGroup), total: Number(total?.n ?? 0) };
}

/** A member whose user was deleted since is no longer listed. */
export function groupMembers(db: Db, groupId: string): Promise<{ id: string; address: string }[]> {
  return db
    .selectFrom('scim_group_members')
    .innerJoin('addresses', 'addresses.id', 'scim_group_members.member_id')
    .select(['addresses.id', 'addresses.address'])
    .where('scim_group_members.group_id', '=', groupId)
    .orderBy('addresses.address')
    .execute();
}
