import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Actor } from '../directory/context.js';
import { configuredResolver, type DnsResolver } from '../dns/index.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import type { DkimKeyState } from '../model/states.js';
import { UnsealError } from '../secure/key-encryption.js';
import type { KeyConfig } from '../secure/master-key.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { DKIM_KEY_PURPOSE } from '../secure/seal-purposes.js';
import type { DkimDomain, DkimKeyChanges, DkimKeyReads, DkimKeyRecord, DkimKeyStore } from './dkim-key-store.js';
import { DKIM_ALGORITHMS, type DkimAlgorithm, type GeneratedKey, generateDkimKey, txtStrings } from './keys.js';
import { checkKeyRecord, type KeyCheck, keyRecordName } from './record-check.js';
import { nextSelectorStem, SELECTOR_SUFFIX, type Transition, transitionsAfterCheck } from './rotation.js';
import type { SigningKey } from './signature.js';

export interface DkimKey {
  id: string;
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKeyState;
  /** The TXT record to publish; `strings` is the value as 255-octet character-strings. */
  record: { type: 'TXT'; name: string; value: string; strings: string[] };
  createdAt: number;
  publishedSeenAt: number | null;
  activatedAt: number | null;
  /** While retiring: when the grace period ends. */
  retireAt: number | null;
  retiredAt: number | null;
  lastCheck: (KeyCheck & { at: number }) | null;
  /** What DNS shows now; null when this answer did not look. */
  dns: KeyCheck | null;
}

export interface DomainDkim {
  domain: string;
  /** Newest first. */
  keys: DkimKey[];
}

export interface DkimCheck extends DomainDkim {
  changes: { selector: string; from: DkimKeyState; to: DkimKeyState }[];
}

export const KEY_PURPOSE = DKIM_KEY_PURPOSE;
const MAX_GRACE_MS = 90 * 24 * 60 * 60 * 1000;

export interface DkimDeps {
  clock: Clock;
  /** Durability barrier after each change. */
  syncCommitted(): Promise<void>;
}

/**
 * The DKIM keys of the claimed domains: generated here as an RSA-2048 and an Ed25519 pair,
 * the private halves sealed with the key-encryption key, published by the domain's owner,
 * and moved through pending → active → retiring → retired only on what DNS shows, looked up
 * through `resolver` (the configured one unless given). See rotation.ts for the rules.
 */
export function dkimDirectory(
  stores: { dkimKeys: DkimKeyStore },
  deps: DkimDeps,
  config: Pick<Config, 'dnsResolver'> & KeyConfig,
  resolver: DnsResolver = configuredResolver(config.dnsResolver),
) {
  const keys = stores.dkimKeys;
  const { clock } = deps;
  const kek = keyEncryptionFor(config);
  const opened = new Map<string, KeyObject>();

  const lookUp = async (domain: string, rows: DkimKeyRecord[]) =>
    new Map(
      await Promise.all(rows.map(async (row) => [row.id, await checkKeyRecord(resolver, keyRecordName(row.selector, domain), row.publicRecord)] as const)),
    );

  const changed = async <T>(work: (tx: DkimKeyChanges, now: number) => Promise<T>): Promise<T> => {
    const result = await keys.change((tx) => work(tx, clock.now()));
    await deps.syncCommitted();
    return result;
  };

  /** Rows for a new pair; the keys are made before the transaction, so no write waits on RSA generation. */
  async function insertPair(tx: DkimKeyChanges, domain: DkimDomain, pair: GeneratedKey[], now: number, graceMs: number | null): Promise<DkimKeyRecord[]> {
    const taken = await tx.keysOf(domain.id);
    const stem = nextSelectorStem(new Set(taken.map((r) => r.selector)), now);
    if (!stem) throw new DirectoryError('limit', `${domain.name} already had 26 DKIM key pairs made this month; try again next month`, 'name');
    const rows = pair.map((key): DkimKeyRecord => {
      const id = newId('dkim');
      return {
        ...emptyKey(id, domain.id, now, graceMs),
        selector: `${stem}-${SELECTOR_SUFFIX[key.algorithm]}`,
        algorithm: key.algorithm,
        privateSealed: kek.seal(key.privateKeyPem, { purpose: KEY_PURPOSE, id }),
        publicRecord: key.record,
      };
    });
    await tx.insert(rows);
    return rows;
  }

  function openKey(row: Pick<DkimKeyRecord, 'id' | 'selector' | 'privateSealed'>, domain: string): KeyObject {
    const cached = opened.get(row.id);
    if (cached) return cached;
    try {
      const key = createPrivateKey(kek.open(row.privateSealed, { purpose: KEY_PURPOSE, id: row.id }).toString('utf8'));
      opened.set(row.id, key);
      return key;
    } catch (err) {
      if (!(err instanceof UnsealError)) throw err;
      throw new DirectoryError(
        'conflict',
        `the DKIM key ${row.selector} of ${domain} cannot be opened: ${err.message}. Restore RELAYGATE_MASTER_KEY (or data/keys/master.key), or make new keys: relaygate dkim rotate ${domain}`,
      );
    }
  }

  return {
    /** The domain's keys with their records; `lookUp` also asks DNS what it shows for each now. */
    async show(name: string, options: { lookUp?: boolean } = {}): Promise<DomainDkim> {
      const domain = await findDomain(keys, name);
      const rows = await keys.keysOf(domain.id);
      const dns = options.lookUp === false ? new Map<string, KeyCheck>() : await lookUp(domain.name, rows);
      return { domain: domain.name, keys: rows.map((row) => toKey(row, domain.name, dns.get(row.id) ?? null)) };
    },

    /** A first pair of keys, pending until DNS shows them; refused while the domain has keys (that is rotate). */
    async generate(name: string, actor: Actor): Promise<DomainDkim> {
      const pair = await newKeys();
      return changed(async (tx, now) => {
        const domain = await findDomain(tx, name);
        const live = (await tx.keysOf(domain.id)).filter((r) => r.state !== 'retired');
        if (live.length > 0)
          throw new DirectoryError(
            'conflict',
            `${domain.name} already has DKIM keys (${live.map((r) => r.selector).join(', ')}); to replace them: relaygate dkim rotate ${domain.name}`,
            'name',
          );
        const rows = await insertPair(tx, domain, pair, now, null);
        await tx.audit(
          actor,
          { action: 'dkim.generate', targetType: 'domain', targetId: domain.name, detail: { selectors: rows.map((r) => r.selector) } },
          now,
        );
        return { domain: domain.name, keys: (await tx.keysOf(domain.id)).map((row) => toKey(row, domain.name, null)) };
      });
    },

    /** Looks every key up and applies what DNS allows (rotation.ts); a failed lookup changes nothing. */
    /** Domains whose keys wait on DNS or on time: a pending key to see, a retiring one to retire. */
    domainsToCheck(): Promise<string[]> {
      return keys.domainsToCheck();
    },

    /** `quiet`: a scheduled check records itself in the audit log only when it changed something. */
    async check(name: string, actor: Actor, options: { quiet?: boolean } = {}): Promise<DkimCheck> {
      const domain = await findDomain(keys, name);
      const checked = (await keys.keysOf(domain.id)).filter((r) => r.state !== 'retired');
      if (checked.length === 0) throw notGenerated(domain.name);
      const dns = await lookUp(domain.name, checked);
      return changed(async (tx, now) => {
        // Decided on the rows as they are now: a rotation between lookup and commit wins.
        const rows = (await tx.keysOf(domain.id)).filter((r) => dns.has(r.id) && r.state !== 'retired');
        const transitions = transitionsAfterCheck(rows, dns, now);
        for (const row of rows) await recordCheck(tx, row, dns.get(row.id) as KeyCheck, transitions, now);
        const changes = transitions.map(({ selector, from, to }) => ({ selector, from, to }));
        const outcomes = Object.fromEntries(rows.map((r) => [r.selector, dns.get(r.id)?.outcome]));
        if (changes.length > 0 || !options.quiet)
          await tx.audit(actor, { action: 'dkim.check', targetType: 'domain', targetId: domain.name, detail: { changes, outcomes } }, now);
        return { domain: domain.name, keys: (await tx.keysOf(domain.id)).map((row) => toKey(row, domain.name, dns.get(row.id) ?? null)), changes };
      });
    },

    /**
     * The next pair, pending while the current keys keep signing; each becomes active when
     * a check sees it, and the key it replaces then stays published for `graceMs`. Pending
     * keys never seen in DNS are superseded (retired) by the new pair.
     */
    async rotate(name: string, graceMs: number, actor: Actor): Promise<DomainDkim> {
      if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS)
        throw invalid('graceSeconds', `the grace period must be from 0 to ${MAX_GRACE_MS / 86_400_000} days, not ${graceMs / 1000} s`);
      const pair = await newKeys();
      return changed(async (tx, now) => {
        const domain = await findDomain(tx, name);
        const live = (await tx.keysOf(domain.id)).filter((r) => r.state !== 'retired');
        if (live.length === 0) throw notGenerated(domain.name);
        const superseded = live.filter((r) => r.state === 'pending');
        for (const row of superseded) await tx.update(row.id, { state: 'retired', retiredAt: now });
        const rows = await insertPair(tx, domain, pair, now, graceMs);
        const detail = { selectors: rows.map((r) => r.selector), superseded: superseded.map((r) => r.selector), graceMs };
        await tx.audit(actor, { action: 'dkim.rotate', targetType: 'domain', targetId: domain.name, detail }, now);
        return { domain: domain.name, keys: (await tx.keysOf(domain.id)).map((row) => toKey(row, domain.name, null)) };
      });
    },

    /** The keys that sign for a domain now, opened (and kept opened: a sealed key never changes). */
    async signingKeys(name: string): Promise<SigningKey[]> {
      const rows = await keys.activeKeys(name);
      return rows.map((row) => ({ domain: row.domain, selector: row.selector, algorithm: row.algorithm, privateKey: openKey(row, row.domain) }));
    },
  };
}

export type DkimDirectory = ReturnType<typeof dkimDirectory>;

const newKeys = (): Promise<GeneratedKey[]> => Promise.all(DKIM_ALGORITHMS.map((algorithm) => generateDkimKey(algorithm)));

async function recordCheck(tx: DkimKeyChanges, row: DkimKeyRecord, check: KeyCheck, transitions: Transition[], now: number): Promise<void> {
  const changes = transitions.find((t) => t.id === row.id)?.changes ?? {};
  const seen = check.outcome === 'published' && row.publishedSeenAt === null ? { publishedSeenAt: now } : {};
  await tx.update(row.id, { ...seen, ...changes, lastCheck: { at: now, ...check } });
}

const notGenerated = (domain: string) => new DirectoryError('not_found', `${domain} has no DKIM keys; make them with: relaygate dkim generate ${domain}`);

/** Lookups forgive case: DNS names compare case-insensitively (RFC 4343). */
async function findDomain(keys: DkimKeyReads, name: string): Promise<DkimDomain> {
  const row = await keys.findDomain(name.trim().toLowerCase());
  if (!row) throw notFound('domain', name);
  return row;
}

function emptyKey(id: string, domainId: string, now: number, graceMs: number | null) {
  return {
    id,
    domainId,
    state: 'pending' as const,
    graceMs,
    createdAt: now,
    publishedSeenAt: null,
    activatedAt: null,
    retireAt: null,
    retiredAt: null,
    lastCheck: null,
  };
}

function toKey(row: DkimKeyRecord, domain: string, dns: KeyCheck | null): DkimKey {
  const name = keyRecordName(row.selector, domain);
  return {
    id: row.id,
    selector: row.selector,
    algorithm: row.algorithm,
    state: row.state,
    record: { type: 'TXT', name, value: row.publicRecord, strings: txtStrings(row.publicRecord) },
    createdAt: row.createdAt,
    publishedSeenAt: row.publishedSeenAt,
    activatedAt: row.activatedAt,
    retireAt: row.retireAt,
    retiredAt: row.retiredAt,
    lastCheck: row.lastCheck,
    dns,
  };
}
