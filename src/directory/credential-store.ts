import type { AuditEntry } from '../audit/audit-log.js';
import type { ConnectorState } from '../model/states.js';
import type { Actor, PageRequest } from './context.js';
import type { CredentialKind, StoredCredential, Usage } from './credential-model.js';

/** A claimed domain as a new credential or inbound target is placed in it. */
export interface ClaimedDomain {
  id: string;
  name: string;
  organisationId: string;
}

export interface CredentialReads {
  /** In creation order (then id), with how many match in all. */
  list(filter: { kind?: CredentialKind | undefined }, page: PageRequest): Promise<{ items: StoredCredential[]; total: number }>;
  byId(id: string): Promise<StoredCredential | undefined>;
  /** What AUTH verifies against: the credential of exactly this username. */
  byUsername(username: string): Promise<StoredCredential | undefined>;
  /** The allowed networks of the credential with this username: undefined when there is none, null when it has no limit. */
  allowedNetworksOf(username: string): Promise<string[] | null | undefined>;
  /** Every inbound credential that names a TLS client, whatever its state: what certificate login matches against. */
  certificateCredentials(): Promise<StoredCredential[]>;
}

export interface CredentialChanges extends CredentialReads {
  organisationExists(id: string): Promise<boolean>;
  /** A claimed domain by name (any case, trailing dot or not) or by id. */
  findDomain(nameOrId: string): Promise<ClaimedDomain | undefined>;
  /** A domain's connector state, by its (lowercase) name; undefined for a name that is no claimed domain. */
  connectorState(name: string): Promise<{ name: string; connectorState: ConnectorState } | undefined>;
  /**
   * Ids of a domain's inbound credentials that still work or will until their retire-at time:
   * not revoked, not expired, not retired, oldest first. A retiring credential counts, since
   * the mail server may still use it.
   */
  liveInbound(domainId: string, nowMs: number): Promise<string[]>;
  insert(credential: StoredCredential): Promise<void>;
  /** Sets revoked-at on an unrevoked credential; false when there was none to revoke. */
  revoke(id: string, at: number): Promise<boolean>;
  setRetirement(id: string, retireAt: number, retirementSetAt: number): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface CredentialStore extends CredentialReads {
  /** Writes buffered last-use times, all in one transaction of their own. */
  recordUsage(batch: Array<[id: string, usage: Usage]>): Promise<void>;
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: CredentialChanges) => Promise<T>): Promise<T>;
}
