import type { AuditEntry } from '../audit/audit-log.js';
import type { InboundTargetKind } from '../model/states.js';
import type { Actor } from './context.js';
import type { ClaimedDomain } from './credential-store.js';

/** An inbound target as stored: its signing secrets sealed (inbound-targets.ts seals and opens them). */
export interface StoredInboundTarget {
  id: string;
  organisationId: string;
  /** 'organisation:<id>' or 'domain:<id>': one target per scope. */
  scope: string;
  domainId: string | null;
  /** The name of its domain, read with it; null for the organisation's target (and ignored when written). */
  domain: string | null;
  kind: InboundTargetKind;
  url: string | null;
  forwardTo: string | null;
  synchronous: boolean;
  secretSealed: string | null;
  previousSecretSealed: string | null;
  previousSecretUntil: number | null;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
}

export interface InboundTargetReads {
  /** The organisation's targets in scope order. */
  list(organisationId: string): Promise<StoredInboundTarget[]>;
  byScope(scope: string): Promise<StoredInboundTarget | undefined>;
  byId(id: string): Promise<StoredInboundTarget | undefined>;
  /** A claimed domain by name (any case, trailing dot or not) or by id. */
  findDomain(nameOrId: string): Promise<ClaimedDomain | undefined>;
  anyWebhook(): Promise<boolean>;
  /** The target for mail to a domain: the domain's own, else its organisation's; undefined for an unknown domain. */
  forDomain(domainId: string): Promise<StoredInboundTarget | undefined>;
}

export interface InboundTargetChanges extends InboundTargetReads {
  insert(target: StoredInboundTarget): Promise<void>;
  /** Writes every field of the target with this id. */
  update(target: StoredInboundTarget): Promise<void>;
  /** Disables an enabled target; false when it was disabled already, or is gone. */
  disable(id: string, at: number, reason: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  /** The webhook work that waited for a disabled target is due at `at` (src/store/webhook-work-due.ts). */
  makeWebhookWorkDue(at: number): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface InboundTargetStore extends InboundTargetReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: InboundTargetChanges) => Promise<T>): Promise<T>;
}
