import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { domainNameProblem } from '../dns/index.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import type { Database } from '../store/tables.js';
import { ADDRESS_KINDS, type AddressKind } from './address-kinds.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

export { ADDRESS_KINDS, type AddressKind } from './address-kinds.js';

export interface Address {
  id: string;
  address: string;
  kind: AddressKind;
  description: string;
  domain: string;
  /** Other addresses that reach the same mailbox, in any verified domain of the organisation. */
  aliases: string[];
  createdAt: number;
  /** `manual` (console, CLI, API) or the sync that owns it (`scim`, `ldap`): a sync never touches a manual one. */
  source: AddressSource;
  /** The directory's id for the user that owns a synced address. */
  externalId: string | null;
  /** Set while the directory user is deactivated: the address is kept but does not send. */
  suspendedAt: number | null;
}

export type AddressSource = AddressRow['source'];

export interface NewAddress {
  address: string;
  kind: AddressKind;
  description?: string | undefined;
  aliases?: string[] | undefined;
}

export interface AddressFilter {
  domain?: string | undefined;
  kind?: AddressKind | undefined;
}

/**
 * Local parts that are the gateway's own everywhere: postmaster (RFC 5321 §4.5.1), abuse
 * (RFC 2142 §2) and mailer-daemon, the conventional sender of bounces. An application
 * that could send as them could forge the gateway's own reports.
 */
export const SYSTEM_LOCAL_PARTS: readonly string[] = ['postmaster', 'mailer-daemon', 'abuse'];

type Trx = Kysely<Database>;
type DomainRow = Database['domains'];
type AddressRow = Database['addresses'];

/**
 * Support addresses and functional accounts with their aliases, only in verified domains.
 * An address and an alias are one namespace: each mailbox string exists once in either.
 */
export const claimRules = (config: Config): ClaimRules => ({ ownHostname: config.hostname.toLowerCase(), perDomain: config.limits.addressesPerDomain });

export function addressDirectory(ctx: DirectoryContext, config: Config) {
  const { db, clock } = ctx;
  const rules = claimRules(config);
  const changed = async <T>(work: (trx: Trx, now: number) => Promise<T>): Promise<T> => {
    const now = clock.now();
    const result = await db.transaction().execute((trx) => work(trx, now));
    await ctx.syncCommitted();
    return result;
  };
  return {
    async add(input: NewAddress, actor: Actor): Promise<Address> {
      if (!ADDRESS_KINDS.includes(input.kind)) throw invalid('kind', `kind must be one of ${ADDRESS_KINDS.join(', ')}`);
      return changed(async (trx, now) => {
        const domain = await claimable(trx, rules, input.address, 'address');
        const row: AddressRow = {
          id: newId('adr'),
          domain_id: domain.id,
          address: input.address,
          kind: input.kind,
          description: input.description?.trim() ?? '',
          created_at: now,
          source: 'manual',
          external_id: null,
          suspended_at: null,
        };
        await trx.insertInto('addresses').values(row).execute();
        for (const [i, alias] of (input.aliases ?? []).entries()) await insertAlias(trx, rules, row, alias, `aliases.${i}`, now);
        const detail = { id: row.id, kind: row.kind, description: row.description, aliases: input.aliases ?? [] };
        await appendAudit(trx, actor, { action: 'address.add', targetType: 'address', targetId: row.address, detail }, now);
        return findAddress(trx, row.address);
      });
    },

    list: (page: PageRequest, filter: AddressFilter = {}): Promise<Page<Address>> =>
      pageOfAddresses(db, page, (query) => {
        let narrowed = query;
        if (filter.domain) narrowed = narrowed.where('domains.name', '=', filter.domain.trim().toLowerCase());
        if (filter.kind) narrowed = narrowed.where('addresses.kind', '=', filter.kind);
        return narrowed;
      }),

    get: (address: string): Promise<Address> => findAddress(db, address),

    remove(address: string, actor: Actor): Promise<Address> {
      return changed(async (trx, now) => {
        const removed = await findAddress(trx, address);
        refuseSynced(removed);
        // The aliases go with it (ON DELETE CASCADE); the audit record lists them.
        await trx.deleteFrom('addresses').where('id', '=', removed.id).execute();
        const detail = { id: removed.id, aliases: removed.aliases };
        await appendAudit(trx, actor, { action: 'address.remove', targetType: 'address', targetId: removed.address, detail }, now);
        return removed;
      });
    },

    addAlias(address: string, alias: string, actor: Actor): Promise<Address> {
      return changed(async (trx, now) => {
        const owner = await findRow(trx, address);
        refuseSynced(owner);
        await insertAlias(trx, rules, owner, alias, 'alias', now);
        await appendAudit(trx, actor, { action: 'address.alias_add', targetType: 'address', targetId: owner.address, detail: { alias } }, now);
        return findAddress(trx, owner.address);
      });
    },

    removeAlias(address: string, alias: string, actor: Actor): Promise<Address> {
      return changed(async (trx, now) => {
        const owner = await findRow(trx, address);
        refuseSynced(owner);
        const key = lookupKey(alias);
        const deleted = await trx
          .deleteFrom('address_aliases')
          .where('alias', '=', key)
          .where('address_id', '=', owner.id)
          .returning('alias')
          .executeTakeFirst();
        if (!deleted) throw new DirectoryError('not_found', `${key} is not an alias of ${owner.address}`, 'alias');
        await appendAudit(trx, actor, { action: 'address.alias_remove', targetType: 'address', targetId: owner.address, detail: { alias: key } }, now);
        return findAddress(trx, owner.address);
      });
    },
  };
}

export type AddressDirectory = ReturnType<typeof addressDirectory>;

/** The directory owns a synced address: a hand edit would be undone by its next run. */
function refuseSynced(row: { address: string; source: AddressSource }): void {
  if (row.source === 'manual') return;
  throw new DirectoryError(
    'conflict',
    `${row.address} is synced from the organisation's directory (${row.source}): change it there, the next sync would undo a change here`,
    'address',
  );
}

export interface ClaimRules {
  ownHostname: string;
  perDomain: number;
}

export interface Mailbox {
  localPart: string;
  domain: string;
}

// RFC 5322 §3.2.3 dot-atom: atext runs joined by single dots.
const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * The parts of an address the gateway accepts, or why it does not. Addresses are kept in
 * one spelling, lowercase: RFC 5321 §2.4 lets a server treat local parts case-sensitively,
 * but two mailboxes differing only in case would let a sender slip past an authorization.
 */
export function parseMailbox(text: string): Mailbox | string {
  const at = text.lastIndexOf('@');
  if (at <= 0) return 'is not an address such as support@example.com';
  const localPart = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (localPart.startsWith('"')) return 'has a quoted local part, which the gateway does not accept: use a plain one such as support';
  if (/[^\x20-\x7e]/.test(localPart)) return 'has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531), not offered here';
  if (text !== text.toLowerCase()) return `must be lowercase: use "${text.toLowerCase()}"`;
  if (localPart.length > 64) return 'has a local part longer than 64 characters (RFC 5321 §4.5.3.1.1)';
  if (!DOT_ATOM.test(localPart)) return "has a local part that is not a dot-atom (RFC 5322 §3.2.3): letters, digits, !#$%&'*+/=?^_`{|}~- and single inner dots";
  const domainProblem = domainNameProblem(domain);
  if (domainProblem) return `has a domain that ${domainProblem}`;
  if (text.length > 254) return 'is longer than 254 characters (RFC 5321 §4.5.3.1.3)';
  return { localPart, domain };
}

/** Lookups forgive case and surrounding space; new addresses must already be canonical. */
export function lookupKey(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * The verified domain a new address or alias would live in, after every rule: syntax, not
 * a system address, a verified domain of the organisation, unused, within the limit.
 */
export async function claimable(trx: Trx, rules: ClaimRules, text: string, field: string, organisationId?: string): Promise<DomainRow> {
  const parsed = parseMailbox(text);
  const refuse = (problem: string) => invalid(field, `"${text}" ${problem}`);
  if (typeof parsed === 'string') throw refuse(parsed);
  if (SYSTEM_LOCAL_PARTS.includes(parsed.localPart))
    throw refuse(`is a system address of the gateway (${SYSTEM_LOCAL_PARTS.join(', ')} are reserved in every domain): it cannot be added`);
  if (parsed.domain === rules.ownHostname) throw refuse(`is at the gateway's own hostname ${rules.ownHostname}, reserved for its system addresses`);
  const domain = await trx.selectFrom('domains').selectAll().where('name', '=', parsed.domain).executeTakeFirst();
  if (!domain || (organisationId && domain.organisation_id !== organisationId))
    throw refuse(`is not in a domain of this organisation: add and verify ${parsed.domain} first (relaygate domain add ${parsed.domain})`);
  if (domain.status !== 'verified')
    throw refuse(
      `is in ${parsed.domain}, which is pending verification: publish its TXT record (relaygate domain show ${parsed.domain}), then run relaygate domain verify ${parsed.domain}`,
    );
  await refuseTaken(trx, text, field);
  await enforceLimit(trx, domain, rules.perDomain, field);
  return domain;
}

async function refuseTaken(trx: Trx, text: string, field: string): Promise<void> {
  const asAddress = await trx.selectFrom('addresses').select('address').where('address', '=', text).executeTakeFirst();
  if (asAddress) throw new DirectoryError('conflict', `${text} is already an address`, field);
  const asAlias = await trx
    .selectFrom('address_aliases')
    .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
    .select('addresses.address')
    .where('address_aliases.alias', '=', text)
    .executeTakeFirst();
  if (asAlias) throw new DirectoryError('conflict', `${text} is already an alias of ${asAlias.address}`, field);
}

/** Aliases count with addresses: both are mailboxes the domain's senders may use. */
async function enforceLimit(trx: Trx, domain: DomainRow, limit: number, field: string): Promise<void> {
  const count = async (query: Promise<{ n: number } | undefined>) => Number((await query)?.n ?? 0);
  const addresses = await count(
    trx
      .selectFrom('addresses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('domain_id', '=', domain.id)
      .executeTakeFirst(),
  );
  // Exact: a validated domain name holds no LIKE wildcard (% or _).
  const aliases = await count(
    trx
      .selectFrom('address_aliases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('alias', 'like', `%@${domain.name}`)
      .executeTakeFirst(),
  );
  if (addresses + aliases < limit) return;
  throw new DirectoryError(
    'limit',
    `${domain.name} already has ${limit} addresses and aliases, the limit (limits.addressesPerDomain): remove one, or raise RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN`,
    field,
  );
}

export async function insertAlias(trx: Trx, rules: ClaimRules, owner: AddressRow, alias: string, field: string, now: number): Promise<void> {
  if (alias === owner.address) throw invalid(field, `"${alias}" is the address itself, not an alias of it`);
  const ownerDomain = await trx.selectFrom('domains').select('organisation_id').where('id', '=', owner.domain_id).executeTakeFirstOrThrow();
  await claimable(trx, rules, alias, field, ownerDomain.organisation_id);
  await trx
    .insertInto('address_aliases')
    .values({ id: newId('als'), address_id: owner.id, alias, created_at: now })
    .execute();
}

export async function findRow(trx: Trx, address: string): Promise<AddressRow> {
  const key = lookupKey(address);
  const row = await trx.selectFrom('addresses').selectAll().where('address', '=', key).executeTakeFirst();
  if (row) return row;
  const alias = await trx
    .selectFrom('address_aliases')
    .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
    .select('addresses.address')
    .where('address_aliases.alias', '=', key)
    .executeTakeFirst();
  throw new DirectoryError('not_found', alias ? `no address ${key}: it is an alias of ${alias.address}` : `no address ${key}`);
}

export async function findAddress(trx: Trx, address: string): Promise<Address> {
  const row = await findRow(trx, address);
  const domain = await trx.selectFrom('domains').select('name').where('id', '=', row.domain_id).executeTakeFirstOrThrow();
  const [view] = await withAliases(trx, [{ ...row, domain: domain.name }]);
  return view as Address;
}

const addressesWithDomain = (db: Trx) => db.selectFrom('addresses').innerJoin('domains', 'domains.id', 'addresses.domain_id');
type AddressQuery = ReturnType<typeof addressesWithDomain>;

/** One page of addresses, with their domain and aliases, of those `narrow` keeps; `total` counts them all. */
export async function pageOfAddresses(db: Trx, page: PageRequest, narrow: (query: AddressQuery) => AddressQuery): Promise<Page<Address>> {
  const query = narrow(addressesWithDomain(db));
  const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await query.selectAll('addresses').select('domains.name as domain').orderBy('addresses.address').limit(page.limit).offset(page.offset).execute();
  return { items: await withAliases(db, rows), total: Number(total?.n ?? 0), ...page };
}

export async function withAliases(trx: Trx, rows: (AddressRow & { domain: string })[]): Promise<Address[]> {
  const ids = rows.map((r) => r.id);
  const aliases =
    ids.length === 0 ? [] : await trx.selectFrom('address_aliases').select(['address_id', 'alias']).where('address_id', 'in', ids).orderBy('alias').execute();
  return rows.map((row) => ({
    id: row.id,
    address: row.address,
    kind: row.kind,
    description: row.description,
    domain: row.domain,
    aliases: aliases.filter((a) => a.address_id === row.id).map((a) => a.alias),
    createdAt: Number(row.created_at),
    source: row.source,
    externalId: row.external_id,
    suspendedAt: row.suspended_at === null ? null : Number(row.suspended_at),
  }));
}
