import type { AuditEntry } from '../audit/audit-log.js';
import type { ApiToken } from './api-tokens.js';
import type { Actor, PageRequest } from './context.js';

/** A token as stored: what ApiToken shows, and the keyed hash of its secret. */
export interface StoredApiToken extends ApiToken {
  tokenHash: string;
}

export interface ApiTokenReads {
  /** A page of tokens in creation order (then id), and how many there are. */
  list(page: PageRequest): Promise<{ items: StoredApiToken[]; total: number }>;
  byId(id: string): Promise<StoredApiToken | undefined>;
  byHash(tokenHash: string): Promise<StoredApiToken | undefined>;
}

export interface ApiTokenChanges extends ApiTokenReads {
  insert(token: StoredApiToken): Promise<void>;
  /** Revokes an unrevoked token and answers it revoked; undefined when there was none to revoke. */
  revoke(id: string, at: number): Promise<StoredApiToken | undefined>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface ApiTokenStore extends ApiTokenReads {
  /** Records a use, in a statement of its own. */
  recordUse(id: string, at: number, ip: string): Promise<void>;
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: ApiTokenChanges) => Promise<T>): Promise<T>;
}
