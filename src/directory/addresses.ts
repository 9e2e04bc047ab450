import type { Config } from '../config/schema.js';
import { domainNameProblem } from '../dns/index.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import { ADDRESS_KINDS, type AddressKind } from './address-kinds.js';
import type { Address, AddressChanges, AddressReads, AddressSource, AddressStore, ClaimedDomain, StoredAddress } from './address-store.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

export { ADDRESS_KINDS, type AddressKind } from './address-kinds.js';
export type { Address, AddressSource } from './address-store.js';

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

/**
 * Support addresses and functional accounts with their aliases, only in verified domains.
 * An address and an alias are one namespace: each mailbox string exists once in either.
 */
/** What the address rules read of the configuration: the gateway's own hostname and the per-domain limit. */
export type AddressConfig = Pick<Config, 'hostname' | 'limits'>;

export const claimRules = (config: AddressConfig): ClaimRules => ({ ownHostname: config.hostname.toLowerCase(), perDomain: config.limits.addressesPerDomain });

export function addressDirectory(stores: { addresses: AddressStore }, deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>, config: AddressConfig) {
  const { addresses } = stores;
  const rules = claimRules(config);
  const changed = async <T>(work: (tx: AddressChanges, now: number) => Promise<T>): Promise<T> => {
    const now = deps.clock.now();
    const result = await addresses.change((tx) => work(tx, now));
    await deps.syncCommitted();
    return result;
  };
  return {
    async add(input: NewAddress, actor: Actor): Promise<Address> {
      if (!ADDRESS_KINDS.includes(input.kind)) throw invalid('kind', `kind must be one of ${ADDRESS_KINDS.join(', ')}`);
      return changed(async (tx, now) => {
        const domain = await claimable(tx, rules, input.address, 'address');
        const row: StoredAddress = {
          id: newId('adr'),
          domainId: domain.id,
          address: input.address,
          kind: input.kind,
          description: input.description?.trim() ?? '',
          createdAt: now,
          source: 'manual',
          externalId: null,
          suspendedAt: null,
        };
        await tx.insert(row);
        for (const [i, alias] of (input.aliases ?? []).entries()) await insertAlias(tx, rules, row, alias, `aliases.${i}`, now);
        const detail = { id: row.id, kind: row.kind, description: row.description, aliases: input.aliases ?? [] };
        await tx.audit(actor, { action: 'address.add', targetType: 'address', targetId: row.address, detail }, now);
        return findAddress(tx, row.address);
      });
    },

    list: async (page: PageRequest, filter: AddressFilter = {}): Promise<Page<Address>> => {
      const found = await addresses.page(page, { domain: filter.domain ? filter.domain.trim().toLowerCase() : undefined, kind: filter.kind || undefined });
      return { ...found, ...page };
    },

    get: (address: string): Promise<Address> => findAddress(addresses, address),

    remove(address: string, actor: Actor): Promise<Address> {
      return changed(async (tx, now) => {
        const removed = await findAddress(tx, address);
        refuseSynced(removed);
        // The aliases go with it (ON DELETE CASCADE); the audit record lists them.
        await tx.remove(removed.id);
        const detail = { id: removed.id, aliases: removed.aliases };
        await tx.audit(actor, { action: 'address.remove', targetType: 'address', targetId: removed.address, detail }, now);
        return removed;
      });
    },

    addAlias(address: string, alias: string, actor: Actor): Promise<Address> {
      return changed(async (tx, now) => {
        const owner = await findRow(tx, address);
        refuseSynced(owner);
        await insertAlias(tx, rules, owner, alias, 'alias', now);
        await tx.audit(actor, { action: 'address.alias_add', targetType: 'address', targetId: owner.address, detail: { alias } }, now);
        return findAddress(tx, owner.address);
      });
    },

    removeAlias(address: string, alias: string, actor: Actor): Promise<Address> {
      return changed(async (tx, now) => {
        const owner = await findRow(tx, address);
        refuseSynced(owner);
        const key = lookupKey(alias);
        if ((await tx.removeAliases(owner.id, [key])) === 0) throw new DirectoryError('not_found', `${key} is not an alias of ${owner.address}`, 'alias');
        await tx.audit(actor, { action: 'address.alias_remove', targetType: 'address', targetId: owner.address, detail: { alias: key } }, now);
        return findAddress(tx, owner.address);
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
export async function claimable(tx: AddressReads, rules: ClaimRules, text: string, field: string, organisationId?: string): Promise<ClaimedDomain> {
  const parsed = parseMailbox(text);
  const refuse = (problem: string) => invalid(field, `"${text}" ${problem}`);
  if (typeof parsed === 'string') throw refuse(parsed);
  if (SYSTEM_LOCAL_PARTS.includes(parsed.localPart))
    throw refuse(`is a system address of the gateway (${SYSTEM_LOCAL_PARTS.join(', ')} are reserved in every domain): it cannot be added`);
  if (parsed.domain === rules.ownHostname) throw refuse(`is at the gateway's own hostname ${rules.ownHostname}, reserved for its system addresses`);
  const domain = await tx.domainNamed(parsed.domain);
  if (!domain || (organisationId && domain.organisationId !== organisationId))
    throw refuse(`is not in a domain of this organisation: add and verify ${parsed.domain} first (relaygate domain add ${parsed.domain})`);
  if (domain.status !== 'verified')
    throw refuse(
      `is in ${parsed.domain}, which is pending verification: publish its TXT record (relaygate domain show ${parsed.domain}), then run relaygate domain verify ${parsed.domain}`,
    );
  await refuseTaken(tx, text, field);
  await enforceLimit(tx, domain, rules.perDomain, field);
  return domain;
}

async function refuseTaken(tx: AddressReads, text: string, field: string): Promise<void> {
  const asAddress = await tx.findByAddress(text);
  if (asAddress) throw new DirectoryError('conflict', `${text} is already an address`, field);
  const owner = await tx.ownerOfAlias(text);
  if (owner !== undefined) throw new DirectoryError('conflict', `${text} is already an alias of ${owner}`, field);
}

/** Aliases count with addresses: both are mailboxes the domain's senders may use. */
async function enforceLimit(tx: AddressReads, domain: ClaimedDomain, limit: number, field: string): Promise<void> {
  if ((await tx.countMailboxes(domain)) < limit) return;
  throw new DirectoryError(
    'limit',
    `${domain.name} already has ${limit} addresses and aliases, the limit (limits.addressesPerDomain): remove one, or raise RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN`,
    field,
  );
}

export async function insertAlias(tx: AddressChanges, rules: ClaimRules, owner: StoredAddress, alias: string, field: string, now: number): Promise<void> {
  if (alias === owner.address) throw invalid(field, `"${alias}" is the address itself, not an alias of it`);
  await claimable(tx, rules, alias, field, await tx.organisationOfDomain(owner.domainId));
  await tx.insertAlias({ id: newId('als'), addressId: owner.id, alias, createdAt: now });
}

export async function findRow(tx: AddressReads, address: string): Promise<StoredAddress> {
  const key = lookupKey(address);
  const row = await tx.findByAddress(key);
  if (row) return row;
  const owner = await tx.ownerOfAlias(key);
  throw new DirectoryError('not_found', owner !== undefined ? `no address ${key}: it is an alias of ${owner}` : `no address ${key}`);
}

export async function findAddress(tx: AddressReads, address: string): Promise<Address> {
  return tx.describe(await findRow(tx, address));
}
