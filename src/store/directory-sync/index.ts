import type { DirectorySyncStore, ScimGroupChanges, ScimGroupReads } from '../../directory/directory-sync-store.js';
import { sqlAddressStore } from '../addresses/index.js';
import { appendAudit } from '../audit/append-audit.js';
import { exclusively } from '../exclusive-job.js';
import type { Db } from '../tables.js';
import { dryRun } from './dry-run.js';
import { groupMembers, listScimGroups, toStoredGroup } from './list-scim-groups.js';
import { findSource, sourceChanges } from './sync-sources.js';

export function sqlDirectorySyncStore(db: Db): DirectorySyncStore {
  return {
    ...groupReads(db),
    changeGroups: (work) => db.transaction().execute((trx) => work(groupChanges(trx))),
    manualAmong: async (addresses) => {
      const found: string[] = [];
      for (let i = 0; i < addresses.length; i += 500) {
        const rows = await db
          .selectFrom('addresses')
          .select('address')
          .where('source', '=', 'manual')
          .where('address', 'in', addresses.slice(i, i + 500))
          .execute();
        found.push(...rows.map((r) => r.address));
      }
      return found;
    },
    dryRun: (work) => dryRun(db, work),
    findSource: (organisationId) => findSource(db, organisationId),
    changeSources: (work) => db.transaction().execute((trx) => work(sourceChanges(trx))),
    recordRun: async (id, run) => {
      await db
        .updateTable('directory_sync_sources')
        .set({ last_run_at: run.at, last_status: run.status, last_error: run.error, last_result: run.resultJson })
        .where('id', '=', id)
        .execute();
    },
    exclusively: (name, job) => exclusively(db, name, job),
  };
}

function groupReads(db: Db): ScimGroupReads {
  return {
    findGroup: async (organisationId, id) => {
      const row = await db.selectFrom('scim_groups').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
      return row && toStoredGroup(row);
    },
    listGroups: (organisationId, page, filter) => listScimGroups(db, organisationId, page, filter),
    members: (groupId) => groupMembers(db, groupId),
    addressOf: async (addressId) => (await db.selectFrom('addresses').select('address').where('id', '=', addressId).executeTakeFirst())?.address,
  };
}

function groupChanges(trx: Db): ScimGroupChanges {
  return {
    ...groupReads(trx),
    addresses: sqlAddressStore(trx),
    scimUsersAmong: async (ids) => {
      if (ids.length === 0) return [];
      const known = await trx.selectFrom('addresses').select('id').where('id', 'in', ids).where('source', '=', 'scim').where('kind', '=', 'support').execute();
      return known.map((k) => k.id);
    },
    insertGroup: async (g) => {
      await trx
        .insertInto('scim_groups')
        .values({
          id: g.id,
          organisation_id: g.organisationId,
          display_name: g.displayName,
          external_id: g.externalId,
          address_id: g.addressId,
          created_at: g.createdAt,
          updated_at: g.updatedAt,
        })
        .execute();
    },
    updateGroup: async (id, fields) => {
      await trx
        .updateTable('scim_groups')
        .set({ display_name: fields.displayName, external_id: fields.externalId, address_id: fields.addressId, updated_at: fields.updatedAt })
        .where('id', '=', id)
        .execute();
    },
    setMembers: async (groupId, members) => {
      await trx.deleteFrom('scim_group_members').where('group_id', '=', groupId).execute();
      if (members.length > 0)
        await trx
          .insertInto('scim_group_members')
          .values(members.map((member_id) => ({ group_id: groupId, member_id })))
          .execute();
    },
    removeGroup: async (id) => {
      await trx.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
      await trx.deleteFrom('scim_groups').where('id', '=', id).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
