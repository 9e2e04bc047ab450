import type { DkimKeyRecord, DkimKeyUpdate } from '../../dkim/dkim-key-store.js';
import type { KeyCheck } from '../../dkim/record-check.js';
import type { DkimKeysTable } from '../tables.js';

const num = (value: number | null): number | null => (value === null ? null : Number(value));

export function keyOfRow(row: DkimKeysTable): DkimKeyRecord {
  return {
    id: row.id,
    domainId: row.domain_id,
    selector: row.selector,
    algorithm: row.algorithm,
    privateSealed: row.private_sealed,
    publicRecord: row.public_record,
    state: row.state,
    graceMs: num(row.grace_ms),
    createdAt: Number(row.created_at),
    publishedSeenAt: num(row.published_seen_at),
    activatedAt: num(row.activated_at),
    retireAt: num(row.retire_at),
    retiredAt: num(row.retired_at),
    lastCheck:
      row.last_check_at === null || row.last_check_result === null
        ? null
        : { at: Number(row.last_check_at), ...(JSON.parse(row.last_check_result) as KeyCheck) },
  };
}

export function rowOfKey(key: DkimKeyRecord): DkimKeysTable {
  return {
    id: key.id,
    domain_id: key.domainId,
    selector: key.selector,
    algorithm: key.algorithm,
    private_sealed: key.privateSealed,
    public_record: key.publicRecord,
    state: key.state,
    grace_ms: key.graceMs,
    created_at: key.createdAt,
    published_seen_at: key.publishedSeenAt,
    activated_at: key.activatedAt,
    retire_at: key.retireAt,
    retired_at: key.retiredAt,
    ...lastCheckColumns(key.lastCheck),
  };
}

/** The columns an update sets: only those it names. */
export function columnsOfUpdate(changes: DkimKeyUpdate): Partial<DkimKeysTable> {
  const columns: Partial<DkimKeysTable> = {};
  if (changes.publishedSeenAt !== undefined) columns.published_seen_at = changes.publishedSeenAt;
  if (changes.activatedAt !== undefined) columns.activated_at = changes.activatedAt;
  if (changes.retireAt !== undefined) columns.retire_at = changes.retireAt;
  if (changes.retiredAt !== undefined) columns.retired_at = changes.retiredAt;
  if (changes.state !== undefined) columns.state = changes.state;
  if (changes.lastCheck !== undefined) Object.assign(columns, lastCheckColumns(changes.lastCheck));
  return columns;
}

function lastCheckColumns(lastCheck: DkimKeyRecord['lastCheck']): Pick<DkimKeysTable, 'last_check_at' | 'last_check_result'> {
  if (lastCheck === null) return { last_check_at: null, last_check_result: null };
  const { at, ...check } = lastCheck;
  return { last_check_at: at, last_check_result: JSON.stringify(check) };
}
