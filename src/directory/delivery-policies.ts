import { DirectoryError, invalid } from '../model/directory-error.js';
import type { TlsRequirement } from '../model/states.js';
import { normaliseDomain } from '../policy/route-match.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import type { DeliveryPolicyStore } from './delivery-policy-store.js';
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
export function deliveryPolicyDirectory(stores: { deliveryPolicies: DeliveryPolicyStore }, deps: Pick<DirectoryContext, 'clock'>) {
  const { deliveryPolicies: policies } = stores;
  const { clock } = deps;
  return {
    async list(page: PageRequest): Promise<Page<DeliveryPolicy>> {
      const { items, total } = await policies.list(page);
      return { items, total, ...page };
    },

    async show(domainText: string): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      const policy = await policies.find(domain);
      if (!policy) throw notSet(domain);
      return policy;
    },

    /** Sets or replaces the domain's requirement. */
    async set(domainText: string, requireText: string, actor: Actor): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      const require = checkRequirement(requireText);
      return policies.change(async (tx) => {
        const now = clock.now();
        const current = await tx.find(domain);
        const policy: DeliveryPolicy = { domain, require, createdAt: current ? current.createdAt : now, updatedAt: now };
        if (current) await tx.setRequirement(domain, require, now);
        else await tx.insert(policy);
        const detail = { require, previous: current?.require ?? null };
        await tx.audit(actor, { action: 'tls-policy.set', targetType: 'tls-policy', targetId: domain, detail }, now);
        return policy;
      });
    },

    async remove(domainText: string, actor: Actor): Promise<DeliveryPolicy> {
      const domain = checkDomain(domainText);
      return policies.change(async (tx) => {
        const policy = await tx.find(domain);
        if (!policy) throw notSet(domain);
        await tx.remove(domain);
        await tx.audit(actor, { action: 'tls-policy.remove', targetType: 'tls-policy', targetId: domain, detail: { require: policy.require } }, clock.now());
        return policy;
      });
    },

    /** For delivery: the requirement for a recipient domain, if the operator set one. */
    async requirementFor(domain: string): Promise<TlsRequirement | undefined> {
      return (await policies.find(domain.toLowerCase()))?.require;
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
