import { randomBytes } from 'node:crypto';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { checkOwnershipProof, configuredResolver, type DnsResolver, domainNameProblem, type ProofCheck, type ProofRecord, proofRecord } from '../dns/index.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Database } from '../store/tables.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

export type DomainStatus = Database['domains']['status'];

export interface Domain {
  id: string;
  name: string;
  organisationId: string;
  status: DomainStatus;
  /** The TXT record that proves control; kept after verification, for reference. */
  verificationRecord: ProofRecord;
  createdAt: number;
  verifiedAt: number | null;
  /** 'dns', or 'operator:<actor>' when an operator verified it by hand. */
  verifiedBy: string | null;
  lastCheck: (ProofCheck & { at: number }) | null;
  /** Addresses in the domain (their aliases not counted). */
  addressCount: number;
  /** Inbound direct delivery (directory/direct-delivery.ts): the flag, and when it last changed. */
  directDelivery: { enabled: boolean; changedAt: number | null };
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

type Trx = Kysely<Database>;
type DomainRow = Database['domains'] & { address_count?: number | null };

/**
 * The domains an organisation sends from. A domain is claimed pending and becomes verified
 * when its TXT record is found through `resolver` (the configured one unless given), or
 * when an operator verifies it by hand; a subdomain is a domain of its own, with its own proof.
 */
export function domainDirectory(ctx: DirectoryContext, config: Config, resolver: DnsResolver = configuredResolver(config.dnsResolver)) {
  const { db, clock } = ctx;
  const ownHostname = config.hostname.toLowerCase();
  const changed = async <T>(work: (trx: Trx, now: number) => Promise<T>): Promise<T> => {
    const now = clock.now();
    const result = await db.transaction().execute((trx) => work(trx, now));
    await ctx.syncCommitted();
    return result;
  };

  const markVerified = (row: DomainRow, verifiedBy: string, actor: Actor, check: ProofCheck | null) =>
    changed(async (trx, now) => {
      const updated = await trx
        .updateTable('domains')
        .set({ status: 'verified', verified_at: now, verified_by: verifiedBy, ...(check ? checkColumns(check, now) : {}) })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      if (!updated) return findDomain(trx, row.name);
      const detail = { id: row.id, verifiedBy, ...(check ? { found: check.found } : {}) };
      await appendAudit(trx, actor, { action: 'domain.verify', targetType: 'domain', targetId: row.name, detail }, now);
      return findDomain(trx, row.name);
    });

  const recordFailedCheck = (row: DomainRow, actor: Actor, check: ProofCheck) =>
    changed(async (trx, now) => {
      await trx.updateTable('domains').set(checkColumns(check, now)).where('id', '=', row.id).execute();
      const detail = { id: row.id, outcome: check.outcome, detail: check.detail };
      await appendAudit(trx, actor, { action: 'domain.check', targetType: 'domain', targetId: row.name, detail }, now);
      return findDomain(trx, row.name);
    });

  return {
    /** Claims a domain for the default organisation, pending until its TXT record is found. */
    async add(name: string, actor: Actor): Promise<Domain> {
      const problem = domainNameProblem(name) ?? (name === ownHostname ? ownHostnameProblem(name) : undefined);
      if (problem) throw invalid('name', `${name === '' ? 'name' : `"${name}"`} ${problem}`);
      return changed(async (trx, now) => {
        await refuseDuplicate(trx, name);
        await enforceLimit(trx, DEFAULT_ORGANISATION_ID, config.limits.domainsPerOrganisation);
        // 128 random bits: the proof must not be guessable before the owner publishes it.
        const row = { ...pendingRow(name, now), verification_token: randomBytes(16).toString('hex') };
        await trx.insertInto('domains').values(row).execute();
        await appendAudit(
          trx,
          actor,
          { action: 'domain.add', targetType: 'domain', targetId: name, detail: { id: row.id, organisationId: row.organisation_id } },
          now,
        );
        return toDomain(row);
      });
    },

    async list(page: PageRequest, filter: { status?: DomainStatus | undefined } = {}): Promise<Page<Domain>> {
      const statuses: DomainStatus[] = filter.status ? [filter.status] : ['pending', 'verified'];
      const total = await db
        .selectFrom('domains')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', statuses)
        .executeTakeFirst();
      const rows = await withAddressCount(db).where('status', 'in', statuses).orderBy('name').limit(page.limit).offset(page.offset).execute();
      return { items: rows.map(toDomain), total: Number(total?.n ?? 0), ...page };
    },

    get: (name: string): Promise<Domain> => findDomain(db, name),

    /** Looks the proof up (the API's only way); `force` is the operator's, from the CLI. */
    async verify(name: string, actor: Actor, options: { force?: boolean } = {}): Promise<VerifyResult> {
      const row = await findRow(db, name);
      if (row.status === 'verified') return { domain: toDomain(row), check: null };
      if (options.force) return { domain: await markVerified(row, `operator:${actor.name}`, actor, null), check: null };
      const check = await checkOwnershipProof(resolver, row.name, row.verification_token);
      if (check.outcome === 'verified') return { domain: await markVerified(row, 'dns', actor, check), check };
      return { domain: await recordFailedCheck(row, actor, check), check };
    },

    /**
     * Removes the domain with its addresses and every alias in it, and revokes its inbound
     * credentials: none may outlive the claim.
     */
    remove(name: string, actor: Actor): Promise<RemovedDomain> {
      return changed(async (trx, now) => {
        const row = await findRow(trx, name);
        const addresses = (await trx.selectFrom('addresses').select('address').where('domain_id', '=', row.id).orderBy('address').execute()).map(
          (a) => a.address,
        );
        const aliases = (await trx.selectFrom('address_aliases').select('alias').where(touchingDomain(row)).orderBy('alias').execute()).map((a) => a.alias);
        await trx.deleteFrom('address_aliases').where(touchingDomain(row)).execute();
        await trx.deleteFrom('addresses').where('domain_id', '=', row.id).execute();
        const revoked = (
          await trx
            .updateTable('credentials')
            .set({ revoked_at: now })
            .where('domain_id', '=', row.id)
            .where('revoked_at', 'is', null)
            .returning('id')
            .execute()
        ).map((c) => c.id);
        await trx.deleteFrom('domains').where('id', '=', row.id).execute();
        await appendAudit(
          trx,
          actor,
          { action: 'domain.remove', targetType: 'domain', targetId: row.name, detail: { id: row.id, addresses, aliases, revokedCredentials: revoked } },
          now,
        );
        return { domain: toDomain(row), removed: { addresses, aliases } };
      });
    },
  };
}

export type DomainDirectory = ReturnType<typeof domainDirectory>;

/**
 * Refuses a new inbound credential or connection for a domain that is draining or disconnected:
 * the disconnect would revoke or remove it again, or already did. A name that is no claimed
 * domain passes: whether it must be one is the caller's rule.
 */
export async function refuseUnlessConnected(db: Trx, name: string, field: string): Promise<void> {
  const row = await db.selectFrom('domains').select(['name', 'connector_state']).where('name', '=', name.trim().toLowerCase()).executeTakeFirst();
  if (!row || row.connector_state === 'connected') return;
  const fix =
    row.connector_state === 'draining'
      ? `wait until it is disconnected ("relaygate domain disconnect ${row.name} --wait"), then run "relaygate domain reconnect ${row.name}"`
      : `reconnect it first with "relaygate domain reconnect ${row.name}"`;
  throw new DirectoryError('conflict', `domain ${row.name} is ${row.connector_state}; ${fix}`, field);
}

function ownHostnameProblem(name: string): string {
  return `is the gateway's own hostname, where its system addresses (postmaster, bounces) live: it cannot be claimed (hostname setting is ${name})`;
}

function pendingRow(name: string, now: number) {
  return {
    id: newId('dom'),
    organisation_id: DEFAULT_ORGANISATION_ID,
    name,
    status: 'pending' as const,
    created_at: now,
    verified_at: null,
    verified_by: null,
    last_check_at: null,
    last_check_result: null,
    connector_state: 'connected' as const,
    connector_changed_at: null,
    direct_delivery: 0,
    direct_delivery_changed_at: null,
  };
}

async function refuseDuplicate(trx: Trx, name: string): Promise<void> {
  const existing = await trx.selectFrom('domains').select(['status', 'organisation_id']).where('name', '=', name).executeTakeFirst();
  if (!existing) return;
  const state = existing.organisation_id === DEFAULT_ORGANISATION_ID ? `already added (${existing.status})` : 'claimed by another organisation';
  throw new DirectoryError('conflict', `${name} is ${state}`, 'name');
}

/** Pending domains count too: a claim holds its place until it is removed. */
async function enforceLimit(trx: Trx, organisationId: string, limit: number): Promise<void> {
  const count = await trx
    .selectFrom('domains')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organisation_id', '=', organisationId)
    .executeTakeFirst();
  if (Number(count?.n ?? 0) < limit) return;
  throw new DirectoryError(
    'limit',
    `the organisation already has ${limit} domains, the limit (limits.domainsPerOrganisation, pending ones included): remove one, or raise RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION`,
    'name',
  );
}

/**
 * Aliases in the domain (of addresses anywhere) or of the domain's addresses. The LIKE
 * pattern is exact: a validated domain name holds no `%` or `_`.
 */
function touchingDomain(row: DomainRow) {
  return (eb: ExpressionBuilder<Database, 'address_aliases'>) =>
    eb.or([eb('alias', 'like', `%@${row.name}`), eb('address_id', 'in', eb.selectFrom('addresses').select('id').where('domain_id', '=', row.id))]);
}

function withAddressCount(db: Trx) {
  return db
    .selectFrom('domains')
    .selectAll('domains')
    .select((eb) => eb.selectFrom('addresses').whereRef('addresses.domain_id', '=', 'domains.id').select(eb.fn.countAll<number>().as('n')).as('address_count'));
}

/** Lookups forgive case: DNS names compare case-insensitively (RFC 4343). */
async function findRow(db: Trx, name: string): Promise<DomainRow> {
  const row = await withAddressCount(db).where('name', '=', name.trim().toLowerCase()).executeTakeFirst();
  if (!row) throw notFound('domain', name);
  return row;
}

async function findDomain(db: Trx, name: string): Promise<Domain> {
  return toDomain(await findRow(db, name));
}

function checkColumns(check: ProofCheck, now: number) {
  return { last_check_at: now, last_check_result: JSON.stringify(check) };
}

function toDomain(row: DomainRow): Domain {
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisation_id,
    status: row.status,
    verificationRecord: proofRecord(row.name, row.verification_token),
    createdAt: Number(row.created_at),
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    verifiedBy: row.verified_by,
    lastCheck: row.last_check_at === null || row.last_check_result === null ? null : { at: Number(row.last_check_at), ...parseCheck(row.last_check_result) },
    addressCount: Number(row.address_count ?? 0),
    directDelivery: {
      enabled: Number(row.direct_delivery) === 1,
      changedAt: row.direct_delivery_changed_at === null ? null : Number(row.direct_delivery_changed_at),
    },
  };
}

function parseCheck(text: string): ProofCheck {
  const parsed = JSON.parse(text) as Partial<ProofCheck>;
  return { outcome: parsed.outcome ?? 'dns_error', detail: parsed.detail ?? '', found: parsed.found ?? [] };
}
