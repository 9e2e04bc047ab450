import type { Actor, Page, PageRequest } from '../directory/context.js';
import type { HeadFile } from './audit-head.js';
import type { AuditKey } from './audit-key.js';

/** What a record's hash covers besides the previous record's hash. */
export interface ChainedContent {
  seq: number;
  at: number;
  actor: string;
  actorIp: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  detail: Record<string, unknown>;
}

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends ChainedContent {
  prevHash: string;
  hash: string;
}

export interface AuditQuery extends PageRequest {
  action?: string | undefined;
  actor?: string | undefined;
  targetId?: string | undefined;
}

/** The key a store's chain is keyed with, and where this data directory anchors its head (src/audit/audit-keying.ts). */
export interface AuditKeying {
  key: AuditKey;
  headFile: HeadFile | undefined;
}

/** The audit log as the store keeps it (src/store/audit/). */
export interface AuditStore {
  /** Newest first, filtered by each field given, with the count of every match. */
  list(query: AuditQuery): Promise<Page<AuditRecord>>;
  /** Oldest first: the records numbered above `afterSeq` (every one without it), at most `limit`. */
  records(range?: { afterSeq?: number; limit?: number }): Promise<AuditRecord[]>;
  /** Appends one record in a transaction of its own (src/store/audit/append-audit.ts). */
  append(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
  /** The key and head file this store's chain carries (openStore puts them there). */
  keying(): AuditKeying;
}
