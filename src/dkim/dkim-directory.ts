import { createPrivateKey, type KeyObject } from 'node:crypto';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import type { Actor, DirectoryContext } from '../directory/context.js';
import { configuredResolver, type DnsResolver } from '../dns/index.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { UnsealError } from '../secure/key-encryption.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { DKIM_KEY_PURPOSE } from '../secure/seal-purposes.js';
import type { Db, DkimKeyState, DkimKeysTable } from '../store/tables.js';
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
type DomainRow = { id: string; name: string };

/**
 * The DKIM keys of the claimed domains: generated here as an RSA-2048 and an Ed25519 pair,
 * the private halves sealed with the key-encryption key, published by the domain's owner,
 * and moved through pending → active → retiring → retired only on what DNS shows, looked up
 * through `resolver` (the configured one unless given). See rotation.ts for the rules.
 */
export function dkimDirectory(ctx: DirectoryContext, config: Config, resolver: DnsResolver = configuredResolver(config.dnsResolver)) {
  const { db, clock } = ctx;
  const kek = keyEncryptionFor(config);
  const opened = new Map<string, KeyObject>();

  const lookUp = async (domain: string, rows: DkimKeysTable[]) =>
    new Map(
      await Promise.all(rows.map(async (row) => [row.id, await checkKeyRecord(resolver, keyRecordName(row.selector, domain), row.public_record)] as const)),
    );

  const changed = async <T>(work: (trx: Db, now: number) => Promise<T>): Promise<T> => {
    const result = await db.transaction().execute((trx) => work(trx, clock.now()));
    await ctx.syncCommitted();
    return result;
  };

  /** Rows for a new pair; the keys are made before the transaction, so no write waits on RSA generation. */
  async function insertPair(trx: Db, domain: DomainRow, keys: GeneratedKey[], now: number, graceMs: number | null): Promise<DkimKeysTable[]> {
    const taken = await trx.selectFrom('dkim_keys').select('selector').where('domain_id', '=', domain.id).execute();
    const stem = nextSelectorStem(new Set(taken.map((r) => r.selector)), now);
    if (!stem) throw new DirectoryError('limit', `${domain.name} already had 26 DKIM key pairs made this month; try again next month`, 'name');
    const rows = keys.map((key): DkimKeysTable => {
      const id = newId('dkim');
      return {
        ...emptyRow(id, domain.id, now, graceMs),
        selector: `${stem}-${SELECTOR_SUFFIX[key.algorithm]}`,
        algorithm: key.algorithm,
        private_sealed: kek.seal(key.privateKeyPem, { purpose: KEY_PURPOSE, id }),
        public_record: key.record,
      };
    });
    await trx.insertInto('dkim_keys').values(rows).execute();
    return rows;
  }

  function openKey(row: Pick<DkimKeysTable, 'id' | 'selector' | 'private_sealed'>, domain: string): KeyObject {
    const cached = opened.get(row.id);
    if (cached) return cached;
    try {
      const key = createPrivateKey(kek.open(row.private_sealed, { purpose: KEY_PURPOSE, id: row.id }).toString('utf8'));
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
      const domain = await findDomain(db, name);
      const rows = await keyRows(db, domain.id);
      const dns = options.lookUp === false ? new Map<string, KeyCheck>() : await lookUp(domain.name, rows);
      return { domain: domain.name, keys: rows.map((row) => toKey(row, domain.name, dns.get(row.id) ?? null)) };
    },

    /** A first pair of keys, pending until DNS shows them; refused while the domain has keys (that is rotate). */
    async generate(name: string, actor: Actor): Promise<DomainDkim> {
      const keys = await newKeys();
      return changed(async (trx, now) => {
        const domain = await findDomain(trx, name);
        const live = (await keyRows(trx, domain.id)).filter((r) => r.state !== 'retired');
        if (live.length > 0)
          throw new DirectoryError(
            'conflict',
            `${domain.name} already has DKIM keys (${live.map((r) => r.selector).join(', ')}); to replace them: relaygate dkim rotate ${domain.name}`,
            'name',
          );
        const rows = await insertPair(trx, domain, keys, now, null);
        await appendAudit(
          trx,
          actor,
          { action: 'dkim.generate', targetType: 'domain', targetId: domain.name, detail: { selectors: rows.map((r) => r.selector) } },
          now,
        );
        return { domain: domain.name, keys: (await keyRows(trx, domain.id)).map((row) => toKey(row, domain.name, null)) };
      });
    },

    /** Looks every key up and applies what DNS allows (rotation.ts); a failed lookup changes nothing. */
    /** Domains whose keys wait on DNS or on time: a pending key to see, a retiring one to retire. */
    async domainsToCheck(): Promise<string[]> {
      const rows = await db
        .selectFrom('dkim_keys')
        .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
        .select('domains.name')
        .distinct()
        .where('dkim_keys.state', 'in', ['pending', 'retiring'])
        .execute();
      return rows.map((r) => r.name);
    },

    /** `quiet`: a scheduled check records itself in the audit log only when it changed something. */
    async check(name: string, actor: Actor, options: { quiet?: boolean } = {}): Promise<DkimCheck> {
      const domain = await findDomain(db, name);
      const checked = (await keyRows(db, domain.id)).filter((r) => r.state !== 'retired');
      if (checked.length === 0) throw notGenerated(domain.name);
      const dns = await lookUp(domain.name, checked);
      return changed(async (trx, now) => {
        // Decided on the rows as they are now: a rotation between lookup and commit wins.
        const rows = (await keyRows(trx, domain.id)).filter((r) => dns.has(r.id) && r.state !== 'retired');
        const transitions = transitionsAfterCheck(rows, dns, now);
        for (const row of rows) await recordCheck(trx, row, dns.get(row.id) as KeyCheck, transitions, now);
        const changes = transitions.map(({ selector, from, to }) => ({ selector, from, to }));
        const outcomes = Object.fromEntries(rows.map((r) => [r.selector, dns.get(r.id)?.outcome]));
        if (changes.length > 0 || !options.quiet)
          await appendAudit(trx, actor, { action: 'dkim.check', targetType: 'domain', targetId: domain.name, detail: { changes, outcomes } }, now);
        return { domain: domain.name, keys: (await keyRows(trx, domain.id)).map((row) => toKey(row, domain.name, dns.get(row.id) ?? null)), changes };
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
      const keys = await newKeys();
      return changed(async (trx, now) => {
        const domain = await findDomain(trx, name);
        const live = (await keyRows(trx, domain.id)).filter((r) => r.state !== 'retired');
        if (live.length === 0) throw notGenerated(domain.name);
        const superseded = live.filter((r) => r.state === 'pending');
        for (const row of superseded) await trx.updateTable('dkim_keys').set({ state: 'retired', retired_at: now }).where('id', '=', row.id).execute();
        const rows = await insertPair(trx, domain, keys, now, graceMs);
        const detail = { selectors: rows.map((r) => r.selector), superseded: superseded.map((r) => r.selector), graceMs };
        await appendAudit(trx, actor, { action: 'dkim.rotate', targetType: 'domain', targetId: domain.name, detail }, now);
        return { domain: domain.name, keys: (await keyRows(trx, domain.id)).map((row) => toKey(row, domain.name, null)) };
      });
    },

    /** The keys that sign for a domain now, opened (and kept opened: a sealed key never changes). */
    async signingKeys(name: string): Promise<SigningKey[]> {
      const rows = await db
        .selectFrom('dkim_keys')
        .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
        .select(['dkim_keys.id', 'dkim_keys.selector', 'dkim_keys.algorithm', 'dkim_keys.private_sealed', 'domains.name'])
        .where('domains.name', '=', name)
        .where('dkim_keys.state', '=', 'active')
        .orderBy('dkim_keys.algorithm', 'desc')
        .execute();
      return rows.map((row) => ({ domain: row.name, selector: row.selector, algorithm: row.algorithm, privateKey: openKey(row, row.name) }));
    },
  };
}

export type DkimDirectory = ReturnType<typeof dkimDirectory>;

const newKeys = (): Promise<GeneratedKey[]> => Promise.all(DKIM_ALGORITHMS.map((algorithm) => generateDkimKey(algorithm)));

async function recordCheck(trx: Db, row: DkimKeysTable, check: KeyCheck, transitions: Transition[], now: number): Promise<void> {
  const changes = transitions.find((t) => t.id === row.id)?.changes ?? {};
  const seen = check.outcome === 'published' && row.published_seen_at === null ? { published_seen_at: now } : {};
  await trx
    .updateTable('dkim_keys')
    .set({ ...seen, ...changes, last_check_at: now, last_check_result: JSON.stringify(check) })
    .where('id', '=', row.id)
    .execute();
}

const notGenerated = (domain: string) => new DirectoryError('not_found', `${domain} has no DKIM keys; make them with: relaygate dkim generate ${domain}`);

/** Lookups forgive case: DNS names compare case-insensitively (RFC 4343). */
async function findDomain(db: Db, name: string): Promise<DomainRow> {
  const row = await db.selectFrom('domains').select(['id', 'name']).where('name', '=', name.trim().toLowerCase()).executeTakeFirst();
  if (!row) throw notFound('domain', name);
  return row;
}

function keyRows(db: Db, domainId: string): Promise<DkimKeysTable[]> {
  return db.selectFrom('dkim_keys').selectAll().where('domain_id', '=', domainId).orderBy('created_at', 'desc').orderBy('selector', 'desc').execute();
}

function emptyRow(id: string, domainId: string, now: number, graceMs: number | null) {
  return {
    id,
    domain_id: domainId,
    state: 'pending' as const,
    grace_ms: graceMs,
    created_at: now,
    published_seen_at: null,
    activated_at: null,
    retire_at: null,
    retired_at: null,
    last_check_at: null,
    last_check_result: null,
  };
}

const num = (value: number | null): number | null => (value === null ? null : Number(value));

function toKey(row: DkimKeysTable, domain: string, dns: KeyCheck | null): DkimKey {
  const name = keyRecordName(row.selector, domain);
  return {
    id: row.id,
    selector: row.selector,
    algorithm: row.algorithm,
    state: row.state,
    record: { type: 'TXT', name, value: row.public_record, strings: txtStrings(row.public_record) },
    createdAt: Number(row.created_at),
    publishedSeenAt: num(row.published_seen_at),
    activatedAt: num(row.activated_at),
    retireAt: num(row.retire_at),
    retiredAt: num(row.retired_at),
    lastCheck:
      row.last_check_at === null || row.last_check_result === null
        ? null
        : { at: Number(row.last_check_at), ...(JSON.parse(row.last_check_result) as KeyCheck) },
    dns,
  };
}
