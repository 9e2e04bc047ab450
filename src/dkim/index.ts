/** DKIM for the claimed domains: keys and their rotation, and the signature added at delivery. */
import type { DkimKeyState } from '../model/states.js';
import type { DkimKeyStore } from './dkim-key-store.js';
import type { DkimAlgorithm } from './keys.js';
import { keyRecordName } from './record-check.js';

export { type DkimCheck, type DkimDeps, type DkimDirectory, type DkimKey, type DomainDkim, dkimDirectory } from './dkim-directory.js';
export type { DkimKeyStore } from './dkim-key-store.js';
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
export async function dkimSelectorsFor(keys: Pick<DkimKeyStore, 'publishedKeys'>, domainName: string): Promise<DkimSelector[]> {
  const rows = await keys.publishedKeys(domainName.trim().toLowerCase());
  return rows.map((r) => ({ selector: r.selector, algorithm: r.algorithm, name: keyRecordName(r.selector, r.domain), record: r.publicRecord, state: r.state }));
}
