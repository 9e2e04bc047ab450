/** DKIM for the claimed domains: keys and their rotation, and the signature added at delivery. */
import type { Db, DkimKeyState } from '../store/tables.js';
import type { DkimAlgorithm } from './keys.js';
import { keyRecordName } from './record-check.js';

export { type DkimCheck, type DkimDirectory, type DkimKey, type DomainDkim, dkimDirectory } from './dkim-directory.js';
export { type DkimAlgorithm, generateDkimKey, keyRecord, parseKeyRecord, sameKey, txtStrings, zoneFileValue } from './keys.js';
export { checkKeyRecord, type KeyCheck, type KeyCheckOutcome, keyRecordName } from './record-check.js';
export { DEFAULT_GRACE_MS } from './rotation.js';
export type { SigningKey } from './signature.js';
export { dkimSignatures, dkimSigningCourier, type SigningKeySource } from './signer.js';

export interface DkimSelector {
  selector: string;
  algorithm: DkimAlgorithm;
  /** Where the record lives: `<selector>._domainkey.<domain>`. */
  name: string;
  /** The TXT value that must be published there, whole. */
  record: string;
  state: DkimKeyState;
}

/**
 * The key records a domain should publish now, for the DNS checker: pending keys (to start
 * signing), active ones (signing), retiring ones (still verifying mail signed before a
 * rotation). Retired keys are left out: their records may be removed. Newest first; an
 * unknown domain has none.
 */
export async function dkimSelectorsFor(db: Db, domainName: string): Promise<DkimSelector[]> {
  const rows = await db
    .selectFrom('dkim_keys')
    .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
    .select(['dkim_keys.selector', 'dkim_keys.algorithm', 'dkim_keys.public_record', 'dkim_keys.state', 'domains.name'])
    .where('domains.name', '=', domainName.trim().toLowerCase())
    .where('dkim_keys.state', '!=', 'retired')
    .orderBy('dkim_keys.created_at', 'desc')
    .orderBy('dkim_keys.selector', 'desc')
    .execute();
  return rows.map((r) => ({ selector: r.selector, algorithm: r.algorithm, name: keyRecordName(r.selector, r.name), record: r.public_record, state: r.state }));
}
