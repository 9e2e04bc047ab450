import type { InboundTargetChanges, InboundTargetReads, InboundTargetStore } from '../../directory/inbound-target-store.js';
import { appendAudit } from '../audit/append-audit.js';
import { findDomain } from '../credentials/find-domain.js';
import type { Db } from '../tables.js';
import { transact } from '../transact.js';
import { makeWebhookWorkDue } from '../webhook-work-due.js';
import { disableTarget } from './disable-target.js';
import { toRow, toStored, withDomainName } from './inbound-target-row.js';
import { targetForDomain } from './target-for-domain.js';

/** The inbound targets in the SQL store (table inbound_targets, with their domain's name). */
export function sqlInboundTargetStore(db: Db): InboundTargetStore {
  return { ...inboundTargetReads(db), change: (work) => transact(db, (trx) => work(inboundTargetChanges(trx))) };
}

function inboundTargetReads(db: Db): InboundTargetReads {
  return {
    list: async (organisationId) =>
      (
        await withDomainName(db.selectFrom('inbound_targets'))
          .where('inbound_targets.organisation_id', '=', organisationId)
          .orderBy('inbound_targets.scope')
          .execute()
      ).map(toStored),
    byScope: async (scope) => {
      const row = await withDomainName(db.selectFrom('inbound_targets')).where('inbound_targets.scope', '=', scope).executeTakeFirst();
      return row && toStored(row);
    },
    byId: async (id) => {
      const row = await withDomainName(db.selectFrom('inbound_targets')).where('inbound_targets.id', '=', id).executeTakeFirst();
      return row && toStored(row);
    },
    findDomain: async (nameOrId) => {
      const row = await findDomain(db, nameOrId);
      return row && { id: row.id, name: row.name, organisationId: row.organisation_id };
    },
    anyWebhook: async () => (await db.selectFrom('inbound_targets').select('id').where('kind', '=', 'webhook').limit(1).executeTakeFirst()) !== undefined,
    forDomain: (domainId) => targetForDomain(db, domainId),
  };
}

function inboundTargetChanges(trx: Db): InboundTargetChanges {
  return {
    ...inboundTargetReads(trx),
    insert: async (target) => {
      await trx.insertInto('inbound_targets').values(toRow(target)).execute();
    },
    update: async (target) => {
      await trx.updateTable('inbound_targets').set(toRow(target)).where('id', '=', target.id).execute();
    },
    disable: (id, at, reason) => disableTarget(trx, id, at, reason),
    remove: async (id) => {
      await trx.deleteFrom('inbound_targets').where('id', '=', id).execute();
    },
    makeWebhookWorkDue: (at) => makeWebhookWorkDue(trx, at),
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
