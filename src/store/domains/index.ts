import type { DomainChanges, DomainReads, DomainStore, NewDomain, StoredDomain } from '../../directory/domain-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { findConnectorState } from './find-connector-state.js';
import { checkColumns, findDomain } from './find-domain.js';
import { listDomains } from './list-domains.js';
import { removeDomain } from './remove-domain.js';

export function sqlDomainStore(db: Db): DomainStore {
  return { ...domainReads(db), change: (work) => db.transaction().execute((trx) => work(domainChanges(trx))) };
}

function domainReads(db: Db): DomainReads {
  return {
    find: (name) => findDomain(db, name),
    list: (statuses, page) => listDomains(db, statuses, page),
    connectorState: (name) => findConnectorState(db, name),
  };
}

function domainChanges(trx: Db): DomainChanges {
  return {
    ...domainReads(trx),
    claimOf: async (name) => {
      const row = await trx.selectFrom('domains').select(['status', 'organisation_id']).where('name', '=', name).executeTakeFirst();
      return row && { status: row.status, organisationId: row.organisation_id };
    },
    countInOrganisation: async (organisationId) => {
      const count = await trx
        .selectFrom('domains')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organisation_id', '=', organisationId)
        .executeTakeFirst();
      return Number(count?.n ?? 0);
    },
    insert: (domain) => insertDomain(trx, domain),
    markVerified: async (id, verifiedBy, check, at) => {
      const updated = await trx
        .updateTable('domains')
        .set({ status: 'verified', verified_at: at, verified_by: verifiedBy, ...(check ? checkColumns(check, at) : {}) })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      return updated !== undefined;
    },
    recordCheck: async (id, check, at) => {
      await trx.updateTable('domains').set(checkColumns(check, at)).where('id', '=', id).execute();
    },
    remove: (domain, at) => removeDomain(trx, domain, at),
    setDirectDelivery: async (id, enabled, at) => {
      await trx
        .updateTable('domains')
        .set({ direct_delivery: enabled ? 1 : 0, direct_delivery_changed_at: at })
        .where('id', '=', id)
        .execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

async function insertDomain(trx: Db, domain: NewDomain): Promise<StoredDomain> {
  await trx
    .insertInto('domains')
    .values({
      id: domain.id,
      organisation_id: domain.organisationId,
      name: domain.name,
      status: 'pending',
      verification_token: domain.verificationToken,
      created_at: domain.createdAt,
      verified_at: null,
      verified_by: null,
      last_check_at: null,
      last_check_result: null,
      connector_state: 'connected',
      connector_changed_at: null,
      direct_delivery: 0,
      direct_delivery_changed_at: null,
    })
    .execute();
  return {
    ...domain,
    status: 'pending',
    verifiedAt: null,
    verifiedBy: null,
    lastCheck: null,
    addressCount: 0,
    directDelivery: { enabled: false, changedAt: null },
  };
}
