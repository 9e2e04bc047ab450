import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';
import type { DkimKeyState } from '../model/states.js';
import type { DkimAlgorithm } from './keys.js';
import type { KeyCheck } from './record-check.js';

/** A claimed domain, as the DKIM keys name it. */
export interface DkimDomain {
  id: string;
  name: string;
}

export interface DkimKeyRecord {
  id: string;
  domainId: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** The PKCS#8 PEM, sealed with the key-encryption key (purpose DKIM_KEY_PURPOSE, bound to `id`). */
  privateSealed: string;
  /** The TXT value to publish at `<selector>._domainkey.<domain>`. */
  publicRecord: string;
  state: DkimKeyState;
  /** Set by a rotation: how long the keys this one replaces stay published once it signs. */
  graceMs: number | null;
  createdAt: number;
  publishedSeenAt: number | null;
  activatedAt: number | null;
  /** While retiring: when its grace period ends and the record may be removed. */
  retireAt: number | null;
  retiredAt: number | null;
  /** What the last DNS look-up found, and when. */
  lastCheck: (KeyCheck & { at: number }) | null;
}

/** What a check or a rotation changes on a key. */
export type DkimKeyUpdate = Partial<Pick<DkimKeyRecord, 'state' | 'publishedSeenAt' | 'activatedAt' | 'retireAt' | 'retiredAt' | 'lastCheck'>>;

/** A key that signs now, with its domain's name. */
export interface ActiveDkimKey {
  id: string;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateSealed: string;
}

/** A key whose record should be published now (not retired), with its domain's name. */
export interface PublishedDkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicRecord: string;
  state: DkimKeyState;
}

export interface DkimKeyReads {
  /** The claimed domain of that exact (already lower-cased) name. */
  findDomain(name: string): Promise<DkimDomain | undefined>;
  /** Every key of the domain, retired ones too; newest first (created, then selector, descending). */
  keysOf(domainId: string): Promise<DkimKeyRecord[]>;
}

export interface DkimKeyChanges extends DkimKeyReads {
  insert(keys: DkimKeyRecord[]): Promise<void>;
  update(id: string, changes: DkimKeyUpdate): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface DkimKeyStore extends DkimKeyReads {
  /** Names of the domains with a key pending or retiring (a key to see in DNS, or one to retire). */
  domainsToCheck(): Promise<string[]>;
  /** The active keys of the domain of that exact name, RSA before Ed25519 (algorithm descending). */
  activeKeys(domainName: string): Promise<ActiveDkimKey[]>;
  /** The keys of the domain of that exact name that are not retired, newest first (created, then selector, descending). */
  publishedKeys(domainName: string): Promise<PublishedDkimKey[]>;
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: DkimKeyChanges) => Promise<T>): Promise<T>;
}
