import type { AuditEntry } from '../audit/audit-log.js';
import type { TlsRequirement } from '../model/states.js';
import type { Actor, PageRequest } from './context.js';
import type { DeliveryPolicy } from './delivery-policies.js';

export interface DeliveryPolicyReads {
  /** A page of policies in domain order, and how many there are. */
  list(page: PageRequest): Promise<{ items: DeliveryPolicy[]; total: number }>;
  /** The policy of exactly this (lowercase) domain. */
  find(domain: string): Promise<DeliveryPolicy | undefined>;
}

export interface DeliveryPolicyChanges extends DeliveryPolicyReads {
  insert(policy: DeliveryPolicy): Promise<void>;
  setRequirement(domain: string, require: TlsRequirement, updatedAt: number): Promise<void>;
  remove(domain: string): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface DeliveryPolicyStore extends DeliveryPolicyReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: DeliveryPolicyChanges) => Promise<T>): Promise<T>;
}
