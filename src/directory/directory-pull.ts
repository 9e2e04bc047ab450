import { DirectoryError } from '../model/directory-error.js';
import type { AddressStore } from './address-store.js';
import type { AddressSyncConfig } from './address-sync.js';
import { type AddressSync, addressSync, type SyncedUser } from './address-sync.js';
import { type Address, lookupKey } from './addresses.js';
import type { Actor, DirectoryContext } from './context.js';
import type { DirectorySyncStore } from './directory-sync-store.js';
import { type LdapEntry, type LdapMapping, mapEntry } from './ldap-mapping.js';

/** One change a pull makes (or, in a dry run, would make) to one address. */
export interface PullChange {
  action: 'add' | 'update' | 'remove';
  address: string;
  /** What changes, in words: "alias +x@example.com", "suspend", "resume", "rename from …", "description". */
  details: string[];
}

/** A directory user the pull did not apply, and why: a manual address, a limit, a domain not verified, a duplicate. */
export interface PullRefusal {
  address: string;
  kind: 'manual' | 'limit' | 'invalid' | 'duplicate' | 'no-address';
  reason: string;
}

export interface PullResult {
  dryRun: boolean;
  /** Entries the directory answered with. */
  entries: number;
  changes: PullChange[];
  /** Users left out of this run (their addresses stay as they were); manual addresses are never touched. */
  refused: PullRefusal[];
  unchanged: number;
  /** Set when the run changed nothing because it would have removed too much (see massRemoval). */
  massRemoval: { removals: number; of: number } | null;
}

export interface PullOptions {
  dryRun: boolean;
  allowMassRemoval: boolean;
  actor: Actor;
}

const SOURCE = 'ldap' as const;

export interface PullStores {
  addresses: AddressStore;
  directorySync: DirectorySyncStore;
}

/**
 * One pull: the directory's users against the addresses of source 'ldap'. Users are matched
 * by external id, then by address; an address of source 'ldap' the directory no longer
 * has is removed. Each user's change is its own transaction through the sync engine (the
 * SCIM one), so a refusal (a limit, a manual address) leaves that user out, is reported,
 * and the others go ahead. A dry run makes every change inside one transaction, each behind
 * a savepoint, and rolls it all back: it reports exactly what the real run would refuse.
 */
export async function pullDirectory(
  stores: PullStores,
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  config: AddressSyncConfig,
  entries: LdapEntry[],
  mapping: LdapMapping,
  options: PullOptions,
): Promise<PullResult> {
  const refused: PullRefusal[] = [];
  const users = directoryUsers(entries, mapping, refused);
  const existing = await ldapAddresses(addressSync(stores, deps, config, SOURCE));
  const manual = await manualAddresses(stores.directorySync, users);
  const plan = planChanges(users, existing, manual, refused, config);
  const result: PullResult = { dryRun: options.dryRun, entries: entries.length, changes: [], refused, unchanged: plan.unchanged, massRemoval: null };
  const removals = plan.steps.filter((s) => s.change.action === 'remove').length;
  // A directory that answers with far fewer users than before is more likely broken (a wrong
  // filter, a replication hiccup) than emptied: more than half of the addresses at once waits
  // for an operator to say so.
  if (removals > 0 && removals * 2 > existing.length && !options.allowMassRemoval) {
    result.massRemoval = { removals, of: existing.length };
    if (!options.dryRun) return result;
  }
  if (options.dryRun) await dryRun(stores.directorySync, deps, config, plan.steps, result, options.actor);
  else for (const step of plan.steps) await applyStep(addressSync(stores, deps, config, SOURCE), step, result, options.actor);
  return result;
}

interface Step {
  change: PullChange;
  run(sync: AddressSync, actor: Actor): Promise<unknown>;
}

/** The entries as users; one without an address, or with another's, is reported and left out. */
function directoryUsers(entries: LdapEntry[], mapping: LdapMapping, refused: PullRefusal[]): SyncedUser[] {
  const seen = new Map<string, string>();
  const users: SyncedUser[] = [];
  for (const entry of entries) {
    const mapped = mapEntry(entry, mapping);
    if ('skipped' in mapped) {
      refused.push({ address: entry.dn, kind: 'no-address', reason: mapped.skipped });
      continue;
    }
    const key = lookupKey(mapped.user.address);
    const first = seen.get(key);
    if (first !== undefined) {
      refused.push({ address: key, kind: 'duplicate', reason: `${entry.dn} has the address of ${first}: only the first entry is synced` });
      continue;
    }
    seen.set(key, entry.dn);
    users.push(mapped.user);
  }
  return users;
}

async function ldapAddresses(sync: AddressSync): Promise<Address[]> {
  const all: Address[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await sync.list({ limit: 500, offset });
    all.push(...page.items);
    if (page.items.length < 500) return all;
  }
}

async function manualAddresses(directorySync: DirectorySyncStore, users: SyncedUser[]): Promise<Set<string>> {
  return new Set(await directorySync.manualAmong(users.map((u) => lookupKey(u.address))));
}

function planChanges(users: SyncedUser[], existing: Address[], manual: Set<string>, refused: PullRefusal[], config: AddressSyncConfig) {
  const byId = new Map(existing.filter((a) => a.externalId !== null).map((a) => [a.externalId, a]));
  const byAddress = new Map(existing.map((a) => [a.address, a]));
  const matched = new Set<string>();
  const adds: Step[] = [];
  const updates: Step[] = [];
  let unchanged = 0;
  for (const user of users) {
    const key = lookupKey(user.address);
    const current = (user.externalId !== null ? byId.get(user.externalId) : undefined) ?? byAddress.get(key);
    if (current && !matched.has(current.id)) {
      matched.add(current.id);
      const details = differences(current, user, config);
      if (details.length === 0) unchanged += 1;
      else updates.push({ change: { action: 'update', address: current.address, details }, run: (sync, actor) => sync.replace(current.id, user, actor) });
      continue;
    }
    if (manual.has(key)) {
      refused.push({
        address: key,
        kind: 'manual',
        reason: `${key} is a manual address (entered in Relaygate): the sync leaves it alone; remove it there (relaygate address remove ${key}) to let the directory own it`,
      });
      continue;
    }
    const details = [...(user.active ? [] : ['suspended']), ...wantedAliases(user, config).map((a) => `alias +${a}`)];
    adds.push({ change: { action: 'add', address: key, details }, run: (sync, actor) => sync.create(user, actor) });
  }
  const removes: Step[] = existing
    .filter((a) => !matched.has(a.id))
    .map((a) => ({
      change: { action: 'remove', address: a.address, details: a.aliases.map((x) => `alias -${x}`) },
      run: (sync, actor) => sync.remove(a.id, actor),
    }));
  // Removals first: they free room under limits.addressesPerDomain and addresses a rename takes.
  return { steps: [...removes, ...updates, ...adds], unchanged };
}

/** The aliases the sync engine will give the user: the directory's plus the alias-domain rule's. */
function wantedAliases(user: SyncedUser, config: AddressSyncConfig): string[] {
  const at = user.address.lastIndexOf('@');
  const domain = lookupKey(user.address.slice(at + 1));
  const derived = config.directorySync.aliasDomains.filter((r) => r.from === domain).map((r) => `${user.address.slice(0, at)}@${r.to}`);
  const address = lookupKey(user.address);
  return [...new Set([...user.aliases, ...derived].map(lookupKey))].filter((a) => a !== address);
}

function differences(current: Address, user: SyncedUser, config: AddressSyncConfig): string[] {
  const details: string[] = [];
  if (current.address !== lookupKey(user.address)) details.push(`rename from ${current.address} to ${lookupKey(user.address)}`);
  const wanted = wantedAliases(user, config);
  for (const alias of wanted) if (!current.aliases.includes(alias)) details.push(`alias +${alias}`);
  for (const alias of current.aliases) if (!wanted.includes(alias)) details.push(`alias -${alias}`);
  if (current.suspendedAt === null && !user.active) details.push('suspend');
  if (current.suspendedAt !== null && user.active) details.push('resume');
  if (current.description !== user.description.trim()) details.push('description');
  if (current.externalId !== user.externalId) details.push('external id');
  return details;
}

async function applyStep(sync: AddressSync, step: Step, result: PullResult, actor: Actor): Promise<boolean> {
  try {
    await step.run(sync, actor);
    result.changes.push(step.change);
    return true;
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    result.refused.push({ address: step.change.address, kind: refusalKind(err), reason: err.message });
    return false;
  }
}

function refusalKind(err: DirectoryError): PullRefusal['kind'] {
  if (err.code === 'limit') return 'limit';
  if (err.message.includes('is a manual address')) return 'manual';
  return 'invalid';
}

/** Each step behind a savepoint, all of it rolled back with its audit records (src/store/directory-sync/dry-run.ts). */
async function dryRun(
  directorySync: DirectorySyncStore,
  deps: Pick<DirectoryContext, 'clock' | 'syncCommitted'>,
  config: AddressSyncConfig,
  steps: Step[],
  result: PullResult,
  actor: Actor,
): Promise<void> {
  await directorySync.dryRun(async (run) => {
    // The sync engine sees the transaction and works inside it (address-sync.ts).
    const sync = addressSync({ addresses: run.addresses }, deps, config, SOURCE);
    for (const step of steps) await run.attempt(() => applyStep(sync, step, result, actor));
  });
}
