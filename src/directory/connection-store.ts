import type { AuditEntry } from '../audit/audit-log.js';
import type { ScopeKind } from '../delivery/connection-scope.js';
import type { ConnectorState } from '../model/states.js';
import type { AuthFields } from './connection-auth.js';
import type { TlsMode } from './connections.js';
import type { Actor, PageRequest } from './context.js';

/** A connection as stored: its secret and client key sealed (connections.ts seals and opens them). */
export interface StoredConnection extends AuthFields {
  id: string;
  organisationId: string;
  scopeKind: ScopeKind;
  scope: string;
  host: string;
  port: number;
  tlsMode: TlsMode;
  username: string | null;
  secretSealed: string | null;
  clientCert: string | null;
  clientKeySealed: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ConnectionReads {
  /** A page of the organisation's connections by scope (then id), and how many it has. */
  list(organisationId: string, page: PageRequest): Promise<{ items: StoredConnection[]; total: number }>;
  find(organisationId: string, id: string): Promise<StoredConnection | undefined>;
  /** Every organisation's connections, for the courier router. */
  all(): Promise<StoredConnection[]>;
}

export interface ConnectionChanges extends ConnectionReads {
  /** The id of another connection than `exceptId` that serves exactly this scope. */
  scopeTakenBy(scope: string, exceptId: string): Promise<string | undefined>;
  /** A domain's connector state, by its (lowercase) name; undefined for a name that is no claimed domain. */
  connectorState(name: string): Promise<{ name: string; connectorState: ConnectorState } | undefined>;
  insert(connection: StoredConnection): Promise<void>;
  /** Writes every field but the id, organisation and creation time. */
  update(connection: StoredConnection): Promise<void>;
  remove(id: string): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface ConnectionStore extends ConnectionReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: ConnectionChanges) => Promise<T>): Promise<T>;
}
