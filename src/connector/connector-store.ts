import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';
import type { ConnectorState, Leg, LegCheckStatus } from '../model/states.js';

/** Why a check ran: at setup or on demand, or on the verification schedule. */
export type LegCheckTrigger = 'setup' | 'scheduled';

/** A round trip of one leg, as stored: the token only hashed. */
export interface LegCheckRecord {
  id: string;
  domainId: string;
  leg: Leg;
  trigger: LegCheckTrigger;
  /** SHA-256 of the token, hex. */
  tokenHash: string;
  status: LegCheckStatus;
  reason: string | null;
  queueId: string | null;
  startedAt: number;
  deadlineAt: number;
  finishedAt: number | null;
}

/** What the connector reads of a claimed domain. */
export interface ConnectorDomain {
  id: string;
  name: string;
  status: 'pending' | 'verified';
  connectorState: ConnectorState;
  connectorChangedAt: number | null;
}

export interface ConnectorReads {
  /** A claimed domain by name (any case, trailing dot or not) or by id. */
  domain(nameOrId: string): Promise<ConnectorDomain | undefined>;
  domainName(id: string): Promise<string | undefined>;
  /** Where the verification mails go: the domain's support address first, else its oldest address. */
  verificationAddress(domainId: string): Promise<string | undefined>;
  /**
   * Ids of a domain's inbound credentials that still work or will until their retire-at time:
   * not revoked, not expired, not retired, oldest first.
   */
  liveInboundCredentials(domainId: string, now: number): Promise<string[]>;
  /** The kind and domain of the credential a verification mail came back with. */
  credential(id: string): Promise<{ kind: 'submission' | 'inbound'; domainId: string | null } | undefined>;
  /** Messages with a recipient still queued or deferred to or from the domain (any case). */
  queuedFor(domain: string): Promise<number>;
  /** The state of the first recipient of a verification mail, while its message is in the queue. */
  sentStatus(queueId: string): Promise<{ status: string; lastReply: string | null } | undefined>;
  checkByTokenHash(tokenHash: string): Promise<LegCheckRecord | undefined>;
  /** The domain's checks, newest first (start time, then id). */
  checks(domainId: string, options: { leg?: Leg; limit: number }): Promise<LegCheckRecord[]>;
  /** Whether a check of the leg verified that started at or after `since`. */
  verifiedSince(domainId: string, leg: Leg, since: number): Promise<boolean>;
  pendingChecks(): Promise<LegCheckRecord[]>;
  drainingDomains(): Promise<{ id: string; name: string }[]>;
  /** Connected, verified domains that have any check, with the start of their newest one. */
  checkedDomains(): Promise<{ id: string; name: string; lastStartedAt: number }[]>;
}

/** The checks' own rows, each written on its own. */
export interface ConnectorWrites extends ConnectorReads {
  insertCheck(check: LegCheckRecord): Promise<void>;
  /** Ends a pending check; false when it was no longer pending. */
  finishCheck(id: string, status: 'verified' | 'failed', reason: string | null, at: number): Promise<boolean>;
  /** Fails every pending check of the domain. */
  failPending(domainId: string, reason: string, at: number): Promise<void>;
}

export interface ConnectorChanges extends ConnectorWrites {
  setConnectorState(domainId: string, state: ConnectorState, at: number): Promise<void>;
  /** Connects a disconnected domain; false when it was not disconnected (any more). */
  reconnect(domainId: string, at: number): Promise<boolean>;
  revokeCredentials(ids: string[], at: number): Promise<void>;
  /** Removes the connections scoped to the domain or to one of its addresses; their ids. */
  removeConnectionsOf(domain: string): Promise<string[]>;
  /** Appends to the audit chain in this transaction. */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface ConnectorStore extends ConnectorWrites {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: ConnectorChanges) => Promise<T>): Promise<T>;
}
