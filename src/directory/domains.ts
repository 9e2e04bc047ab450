import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { checkOwnershipProof, configuredResolver, type DnsResolver, domainNameProblem, type ProofCheck, type ProofRecord, proofRecord } from '../dns/index.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import type { DomainChanges, DomainReads, DomainStatus, DomainStore, StoredDomain } from './domain-store.js';

export type { DomainStatus } from './domain-store.js';

/** A domain as the API and the CLI show it: as stored, with the TXT record that proves control in place of its token. */
export interface Domain extends Omit<StoredDomain, 'verificationToken'> {
  /** The TXT record that proves control; kept after verification, for reference. */
  verificationRecord: ProofRecord;
}

/** `check` is null when nothing was looked up: already verified, or verified by hand. */
export interface VerifyResult {
  domain: Domain;
  check: ProofCheck | null;
}

export interface RemovedDomain {
  domain: Domain;
  /** Addresses of the domain, and aliases in it or of its addresses, removed with it. */
  removed: { addresses: string[]; aliases: string[] };
}

/**
 * The domains an organisation sends from. A domain is claimed pending and becomes verified
 * when its TXT record is found through `resolver` (the configured one unless given), or
 * when an operator verifies it by hand; a subdomain is a domain of its own, with its own proof.
 */
export function domainDirectory(
  stores: { domains: DomainStore },
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  config: Pick<Config, 'dnsResolver' | 'hostname' | 'limits'>,
  resolver: DnsResolver = configuredResolver(config.dnsResolver),
) {
  const { domains } = stores;
  const ownHostname = config.hostname.toLowerCase();
  const changed = async <T>(work: (tx: DomainChanges, now: number) => Promise<T>): Promise<T> => {
    const now = deps.clock.now();
    const result = await domains.change((tx) => work(tx, now));
    await deps.syncCommitted();
    return result;
  };

  const markVerified = (row: StoredDomain, verifiedBy: string, actor: Actor, check: ProofCheck | null) =>
    changed(async (tx, now) => {
      if (!(await tx.markVerified(row.id, verifiedBy, check, now))) return findDomain(tx, row.name);
      const detail = { id: row.id, verifiedBy, ...(check ? { found: check.found } : {}) };
      await tx.audit(actor, { action: 'domain.verify', targetType: 'domain', targetId: row.name, detail }, now);
      return findDomain(tx, row.name);
    });

  const recordFailedCheck = (row: StoredDomain, actor: Actor, check: ProofCheck) =>
    changed(async (tx, now) => {
      await tx.recordCheck(row.id, check, now);
      const detail = { id: row.id, outcome: check.outcome, detail: check.detail };
      await tx.audit(actor, { action: 'domain.check', targetType: 'domain', targetId: row.name, detail }, now);
      return findDomain(tx, row.name);
    });

  return {
    /** Claims a domain for the default organisation, pending until its TXT record is found. */
    async add(name: string, actor: Actor): Promise<Domain> {
      const problem = domainNameProblem(name) ?? (name === ownHostname ? ownHostnameProblem(name) : undefined);
      if (problem) throw invalid('name', `${name === '' ? 'name' : `"${name}"`} ${problem}`);
      return changed(async (tx, now) => {
        await refuseDuplicate(tx, name);
        await enforceLimit(tx, DEFAULT_ORGANISATION_ID, config.limits.domainsPerOrganisation);
        // 128 random bits: the proof must not be guessable before the owner publishes it.
        const domain = { id: newId('dom'), organisationId: DEFAULT_ORGANISATION_ID, name, verificationToken: randomBytes(16).toString('hex'), createdAt: now };
        const stored = await tx.insert(domain);
        await tx.audit(
          actor,
          { action: 'domain.add', targetType: 'domain', targetId: name, detail: { id: domain.id, organisationId: domain.organisationId } },
          now,
        );
        return toDomain(stored);
      });
    },

    async list(page: PageRequest, filter: { status?: DomainStatus | undefined } = {}): Promise<Page<Domain>> {
      const statuses: DomainStatus[] = filter.status ? [filter.status] : ['pending', 'verified'];
      const { items, total } = await domains.list(statuses, page);
      return { items: items.map(toDomain), total, ...page };
    },

    get: (name: string): Promise<Domain> => findDomain(domains, name),

    /** Looks the proof up (the API's only way); `force` is the operator's, from the CLI. */
    async verify(name: string, actor: Actor, options: { force?: boolean } = {}): Promise<VerifyResult> {
      const row = await findRow(domains, name);
      if (row.status === 'verified') return { domain: toDomain(row), check: null };
      if (options.force) return { domain: await markVerified(row, `operator:${actor.name}`, actor, null), check: null };
      const check = await checkOwnershipProof(resolver, row.name, row.verificationToken);
      if (check.outcome === 'verified') return { domain: await markVerified(row, 'dns', actor, check), check };
      return { domain: await recordFailedCheck(row, actor, check), check };
    },

    /**
     * Removes the domain with its addresses and every alias in it, and revokes its inbound
     * credentials: none may outlive the claim.
     */
    remove(name: string, actor: Actor): Promise<RemovedDomain> {
      return changed(async (tx, now) => {
        const row = await findRow(tx, name);
        const { addresses, aliases, revokedCredentials } = await tx.remove(row, now);
        await tx.audit(
          actor,
          { action: 'domain.remove', targetType: 'domain', targetId: row.name, detail: { id: row.id, addresses, aliases, revokedCredentials } },
          now,
        );
        return { domain: toDomain(row), removed: { addresses, aliases } };
      });
    },
  };
}

export type DomainDirectory = ReturnType<typeof domainDirectory>;

function ownHostnameProblem(name: string): string {
  return `is the gateway's own hostname, where its system addresses (postmaster, bounces) live: it cannot be claimed (hostname setting is ${name})`;
}

async function refuseDuplicate(tx: DomainChanges, name: string): Promise<void> {
  const existing = await tx.claimOf(name);
  if (!existing) return;
  const state = existing.organisationId === DEFAULT_ORGANISATION_ID ? `already added (${existing.status})` : 'claimed by another organisation';
  throw new DirectoryError('conflict', `${name} is ${state}`, 'name');
}

/** Pending domains count too: a claim holds its place until it is removed. */
async function enforceLimit(tx: DomainChanges, organisationId: string, limit: number): Promise<void> {
  if ((await tx.countInOrganisation(organisationId)) < limit) return;
  throw new DirectoryError(
    'limit',
    `the organisation already has ${limit} domains, the limit (limits.domainsPerOrganisation, pending ones included): remove one, or raise RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION`,
    'name',
  );
}

/** Lookups forgive case: DNS names compare case-insensitively (RFC 4343). */
async function findRow(domains: DomainReads, name: string): Promise<StoredDomain> {
  const row = await domains.find(name.trim().toLowerCase());
  if (!row) throw notFound('domain', name);
  return row;
}

async function findDomain(domains: DomainReads, name: string): Promise<Domain> {
  return toDomain(await findRow(domains, name));
}

function toDomain(row: StoredDomain): Domain {
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisationId,
    status: row.status,
    verificationRecord: proofRecord(row.name, row.verificationToken),
    createdAt: row.createdAt,
    verifiedAt: row.verifiedAt,
    verifiedBy: row.verifiedBy,
    lastCheck: row.lastCheck,
    addressCount: row.addressCount,
    directDelivery: row.directDelivery,
  };
}
