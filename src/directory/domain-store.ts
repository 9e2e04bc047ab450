import type { AuditEntry } from '../audit/audit-log.js';
import type { ProofCheck } from '../dns/index.js';
import type { ConnectorState } from '../model/states.js';
import type { Actor, PageRequest } from './context.js';

export type DomainStatus = 'pending' | 'verified';

/** A domain as stored; the service adds its proof record (src/directory/domains.ts). */
export interface StoredDomain {
  id: string;
  name: string;
  organisationId: string;
  status: DomainStatus;
  verificationToken: string;
  createdAt: number;
  verifiedAt: number | null;
  verifiedBy: string | null;
  lastCheck: (ProofCheck & { at: number }) | null;
  /** Addresses in the domain (their aliases not counted). */
  addressCount: number;
  directDelivery: { enabled: boolean; changedAt: number | null };
}

export interface NewDomain {
  id: string;
  organisationId: string;
  name: string;
  verificationToken: string;
  createdAt: number;
}

/** What went with a removed domain, each list in name order. */
export interface DomainRemoval {
  addresses: string[];
  aliases: string[];
  revokedCredentials: string[];
}

export interface DomainReads {
  /** The domain of exactly this (lowercase) name, with its address count. */
  find(name: string): Promise<StoredDomain | undefined>;
  /** Domains of the given statuses in name order, and how many there are in all. */
  list(statuses: DomainStatus[], page: PageRequest): Promise<{ items: StoredDomain[]; total: number }>;
  /** A domain's connector state, by its (lowercase) name; undefined for a name that is no claimed domain. */
  connectorState(name: string): Promise<{ name: string; connectorState: ConnectorState } | undefined>;
}

export interface DomainChanges extends DomainReads {
  /** The claim on a name, whichever organisation holds it. */
  claimOf(name: string): Promise<{ status: DomainStatus; organisationId: string } | undefined>;
  /** Domains of the organisation, pending ones included. */
  countInOrganisation(organisationId: string): Promise<number>;
  /** Inserts a pending, connected domain without direct delivery; answers it as stored (no addresses). */
  insert(domain: NewDomain): Promise<StoredDomain>;
  /** Pending → verified (with the check that proved it, if any); false when it was not pending any more. */
  markVerified(id: string, verifiedBy: string, check: ProofCheck | null, at: number): Promise<boolean>;
  /** Records the outcome of a proof lookup that did not verify. */
  recordCheck(id: string, check: ProofCheck, at: number): Promise<void>;
  /**
   * Deletes the domain, its addresses and every alias in it or of its addresses, and revokes its
   * unrevoked credentials (at `at`).
   */
  remove(domain: { id: string; name: string }, at: number): Promise<DomainRemoval>;
  /** Sets the inbound direct delivery flag, and when it changed. */
  setDirectDelivery(id: string, enabled: boolean, at: number): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface DomainStore extends DomainReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: DomainChanges) => Promise<T>): Promise<T>;
}
