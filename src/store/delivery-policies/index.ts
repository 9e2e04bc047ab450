import type { DeliveryPolicy } from '../../directory/delivery-policies.js';
import type { DeliveryPolicyChanges, DeliveryPolicyReads, DeliveryPolicyStore } from '../../directory/delivery-policy-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db, DeliveryPoliciesTable } from '../tables.js';
import { transact } from '../transact.js';

/** The operator's TLS requirements per recipient domain in the SQL store (table delivery_policies). */
export function sqlDeliveryPolicyStore(db: Db): DeliveryPolicyStore {
  return { ...deliveryPolicyReads(db), change: (work) => transact(db, (trx) => work(deliveryPolicyChanges(trx))) };
}

function deliveryPolicyReads(db: Db): DeliveryPolicyReads {
  return {
    list: async (page) => {
      const total = await db
        .selectFrom('delivery_policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const rows = await db.selectFrom('delivery_policies').selectAll().orderBy('domain').limit(page.limit).offset(page.offset).execute();
      return { items: rows.map(toPolicy), total: Number(total?.n ?? 0) };
    },
    find: async (domain) => {
      const row = await db.selectFrom('delivery_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
      return row && toPolicy(row);
    },
  };
}

function deliveryPolicyChanges(trx: Db): DeliveryPolicyChanges {
  return {
    ...deliveryPolicyReads(trx),
    insert: async (policy) => {
      await trx
        .insertInto('delivery_policies')
        .values({ domain: policy.domain, requirement: policy.require, created_at: policy.createdAt, updated_at: policy.updatedAt })
        .execute();
    },
    setRequirement: async (domain, require, updatedAt) => {
      await trx.updateTable('delivery_policies').set({ requirement: require, updated_at: updatedAt }).where('domain', '=', domain).execute();
    },
    remove: async (domain) => {
      await trx.deleteFrom('delivery_policies').where('domain', '=', domain).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

function toPolicy(row: DeliveryPoliciesTable): DeliveryPolicy {
  return { domain: row.domain, require: row.requirement, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}
