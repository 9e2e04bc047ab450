import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';

/** A webhook event for the sender's application, queued for the dispatcher. */
export interface QueuedWebhookEvent {
  id: string;
  /** The envelope sender's domain: its inbound target (else its organisation's) receives it. */
  senderDomain: string;
  /** The event JSON, as signed and sent. */
  payload: string;
  at: number;
  /** Until when the dispatcher retries it. */
  expiresAt: number;
}

export interface LinkLockChanges {
  /** Locks the recipient's link if it is not locked yet; true only for the call that locked it. */
  lockRecipient(recipientId: string, at: number): Promise<boolean>;
  /** Ends every portal session of the recipient. */
  endSessions(recipientId: string): Promise<void>;
  /** An entry in the message's log (console timeline, `relaygate queue show`). */
  logEvent(event: { messageId: string; at: number; kind: string; recipient: string; detail: string }): Promise<void>;
  queueWebhookEvent(event: QueuedWebhookEvent): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

/** Portal links locked by wrong codes. */
export interface LinkLockStore {
  /**
   * The wrong codes of every live link (its message neither shredded nor past retention at
   * `now`) of the address, compared case-insensitively.
   */
  wrongCodesOfAddress(address: string, now: number): Promise<number>;
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: LinkLockChanges) => Promise<T>): Promise<T>;
}
