import { appendAudit } from '../audit/audit-log.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import { normaliseDomain } from '../policy/route-match.js';
import type { DeliveryPoliciesTable, TlsRequirement } from '../store/tables.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import { TLS_REQUIREMENTS } from './tls-requirements.js';

export { REQUIREMENT_HELP, TLS_REQUIREMENTS } from './tls-requirements.js';

/** The operator's TLS requirement for mail to one recipient domain. */
export interface DeliveryPolicy {
  domain: string;
  require: TlsRequirement;
  createdAt: number;
  updatedAt: number;
}

/**
 * Per recipient domain TLS requirements for direct MX delivery (`relaygate tls-policy`):
 * stricter than what the domain publishes, never weaker (policy/mx-tls-policy.ts). They apply
 * to the exact domain of a recipient address; a smarthost delivery does not consult them.
 */
export function deliveryPolicyDirectory(ctx: DirectoryContext) {
  const { db, clock } = ctx;
  return {
    async list(page: PageRequest): Promise<Page<DeliveryPolicy>> {
      const total = await db
        .selectFrom('delivery_policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const rows = await db.selectFrom('delivery_policies').selectAll().orderBy('domain').limit(page.limit).offset(page.offset).execute();
      return { items: rows.map(toPolicy), total: Number(total?.n ?? 0), ...page };
    },

    async show(domainText: string): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      const row = await db.selectFrom('delivery_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
      if (!row) throw notSet(domain);
      return toPolicy(row);
    },

    /** Sets or replaces the domain's requirement. */
    async set(domainText: string, requireText: string, actor: Actor): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      const require = checkRequirement(requireText);
      return db.transaction().execute(async (trx) => {
        const now = clock.now();
        const current = await trx.selectFrom('delivery_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
        const row: DeliveryPoliciesTable = { domain, requirement: require, created_at: current ? Number(current.created_at) : now, updated_at: now };
        if (current) await trx.updateTable('delivery_policies').set({ requirement: require, updated_at: now }).where('domain', '=', domain).execute();
        else await trx.insertInto('delivery_policies').values(row).execute();
        const detail = { require, previous: current?.requirement ?? null };
        await appendAudit(trx, actor, { action: 'tls-policy.set', targetType: 'tls-policy', targetId: domain, detail }, now);
        return toPolicy(row);
      });
    },

    async remove(domainText: string, actor: Actor): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('delivery_policies').selectAll().where('domain', '=', domain).executeTakeFirst();
        if (!row) throw notSet(domain);
        await trx.deleteFrom('delivery_policies').where('domain', '=', domain).execute();
        await appendAudit(
          trx,
          actor,
          { action: 'tls-policy.remove', targetType: 'tls-policy', targetId: domain, detail: { require: row.requirement } },
          clock.now(),
        );
        return toPolicy(row);
      });
    },

    /** For delivery: the requirement for a recipient domain, if the operator set one. */
    async requirementFor(domain: string): Promise<TlsRequirement | undefined> {
      const row = await db.selectFrom('delivery_policies').select('requirement').where('domain', '=', domain.toLowerCase()).executeTakeFirst();
      return row?.requirement;
    },
  };
}

export type DeliveryPolicyDirectory = ReturnType<typeof deliveryPolicyDirectory>;

function checkDomain(text: string): string {
  const domain = normaliseDomain(text);
  if (!domain?.includes('.')) throw invalid('domain', `"${text}" is not a domain name such as example.com`);
  return domain;
}

function checkRequirement(text: string): TlsRequirement {
  if (!(TLS_REQUIREMENTS as readonly string[]).includes(text)) throw invalid('require', `require must be one of ${TLS_REQUIREMENTS.join(', ')}, not "${text}"`);
  return text as TlsRequirement;
}

const notSet = (domain: string) => new DirectoryError('not_found', `no TLS policy for ${domain}; see "relaygate tls-policy list"`);

function toPolicy(row: DeliveryPoliciesTable): DeliveryPolicy {
  return { domain: row.domain, require: row.requirement, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}
