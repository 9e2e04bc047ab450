import type { DirectDeliveryVerdict, DomainChecker } from '../dns/check/index.js';
import { DirectoryError, notFound } from '../model/directory-error.js';
import type { Actor, DirectoryContext } from './context.js';
import type { DomainStore, StoredDomain } from './domain-store.js';

/** A domain's inbound direct delivery (IDD) flag, and the verdict a change was checked against. */
export interface DirectDeliveryState {
  domain: string;
  enabled: boolean;
  /** When the flag last changed (epoch ms); null if it never did. */
  changedAt: number | null;
  /** The DNS checker's verdict at the time of the request; null when disabling, which asks no DNS. */
  verdict: DirectDeliveryVerdict | null;
}

/** Enabling refused: the domain's DNS does not prove a secure transport; `verdict.reasons` say why. */
export class DirectDeliveryRefused extends DirectoryError {
  readonly verdict: DirectDeliveryVerdict;

  constructor(domain: string, verdict: DirectDeliveryVerdict) {
    super('conflict', `secure messages cannot be delivered directly to ${domain}: ${verdict.text}`, 'enabled');
    this.name = 'DirectDeliveryRefused';
    this.verdict = verdict;
  }
}

/**
 * Flags claimed domains for inbound direct delivery. Enabling asks the DNS checker now and is
 * allowed only on a verdict of DNSSEC + DANE or DNSSEC + PKIX, for a verified domain; the flag
 * is a standing request, not a proof: delivery re-checks the verdict at every attempt.
 * Disabling is always allowed and asks nothing, so that it works while DNS is broken.
 */
export function directDeliveryDirectory(
  stores: { domains: DomainStore },
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  checker: Pick<DomainChecker, 'check'>,
) {
  const { domains } = stores;

  async function findRow(name: string): Promise<StoredDomain> {
    const row = await domains.find(name.trim().toLowerCase());
    if (!row) throw notFound('domain', name);
    return row;
  }

  async function write(row: StoredDomain, enabled: boolean, actor: Actor, verdict: DirectDeliveryVerdict | null) {
    const now = deps.clock.now();
    const changed = row.directDelivery.enabled !== enabled;
    const changedAt = changed ? now : row.directDelivery.changedAt;
    await domains.change(async (tx) => {
      if (changed) await tx.setDirectDelivery(row.id, enabled, now);
      const detail = { id: row.id, changed, ...(verdict ? { verdict: verdict.level } : {}) };
      await tx.audit(actor, { action: `domain.direct-delivery.${enabled ? 'enable' : 'disable'}`, targetType: 'domain', targetId: row.name, detail }, now);
    });
    await deps.syncCommitted();
    return { domain: row.name, enabled, changedAt, verdict };
  }

  return {
    async set(name: string, enabled: boolean, actor: Actor): Promise<DirectDeliveryState> {
      const row = await findRow(name);
      if (!enabled) return write(row, false, actor, null);
      if (row.status !== 'verified')
        throw new DirectoryError(
          'conflict',
          `${row.name} is not verified: only a domain proven to be the organisation's can receive secure messages directly; verify it first (relaygate domain verify ${row.name})`,
        );
      const verdict = (await checker.check(row.name)).directDelivery;
      if (verdict.level === 'not-possible') throw new DirectDeliveryRefused(row.name, verdict);
      return write(row, true, actor, verdict);
    },
  };
}

export type DirectDeliveryDirectory = ReturnType<typeof directDeliveryDirectory>;
