import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor, PageRequest } from '../directory/context.js';
import type { SecureRecipientStatus } from '../model/states.js';

/** A secure message as stored: the sealed data key and metadata, its dates. */
export interface SecureMessageRecord {
  /** The queue id of the message that carried it in. */
  id: string;
  organisationId: string;
  sender: string;
  /** The message's own AES-256-GCM key, sealed by the key-encryption key; null once shredded. */
  dataKeySealed: string | null;
  bodyIv: string;
  bodyTag: string;
  /** JSON of the subject, author and Message-ID, sealed under the data key. */
  metaSealed: string;
  createdAt: number;
  retainUntil: number;
  revokedAt: number | null;
  shreddedAt: number | null;
  /** The message's Content-Language if it is one the portal speaks; null: the organisation's default. */
  language: string | null;
}

/** One recipient of a secure message, as the sender's controls see it (no token, no code hash). */
export interface SecureRecipientRecord {
  id: string;
  messageId: string;
  address: string;
  status: SecureRecipientStatus;
  deliveredVia: 'portal' | 'direct' | null;
  fallbackReason: string | null;
  /** JSON of the delivery evidence, or null. */
  evidence: string | null;
  notifiedAt: number | null;
  openedAt: number | null;
  repliedAt: number | null;
  bouncedAt: number | null;
  revokedAt: number | null;
  lockedAt: number | null;
  /** Wrong one-time codes since the link was sent (or last unlocked). */
  wrongCodes: number;
}

/** What the list narrows to; `recipient` is already trimmed and lower-cased, matched as a part of the address. */
export interface SecureMessageQuery {
  organisationId: string;
  recipient?: string | undefined;
  /** active: neither revoked nor shredded; locked: a recipient's portal link is locked by wrong codes. */
  state?: 'active' | 'revoked' | 'shredded' | 'locked' | undefined;
}

export interface SecureMessageReads {
  /** By exact id; within `organisationId` when given. */
  find(id: string, organisationId?: string): Promise<SecureMessageRecord | undefined>;
  /** Newest first (created, then id, descending), with each message's recipient count and the total the query matches. */
  list(query: SecureMessageQuery, page: PageRequest): Promise<{ items: { message: SecureMessageRecord; recipientCount: number }[]; total: number }>;
  /** The message's recipients, by address. */
  recipients(messageId: string): Promise<SecureRecipientRecord[]>;
  /** The messages whose retention period is over and that are not shredded yet, the oldest due first. */
  dueForShredding(now: number, limit: number): Promise<{ id: string; retainUntil: number }[]>;
}

export interface SecureMessageChanges {
  /** Revokes the message unless it already is, and ends the portal sessions of all its recipients. */
  revoke(messageId: string, at: number): Promise<void>;
  /** Revokes one recipient's access unless it already is, and ends that recipient's portal sessions. */
  revokeRecipient(recipientId: string, at: number): Promise<void>;
  /** Opens a locked portal link again: the wrong-code count starts again, any code in flight is void. */
  unlockRecipient(recipientId: string): Promise<void>;
  /** Appends to the message's event log in this transaction. */
  recordEvent(event: { messageId: string; at: number; kind: string; recipient: string | null; detail: string | null }): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface SecureMessageStore extends SecureMessageReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: SecureMessageChanges) => Promise<T>): Promise<T>;
  /**
   * The first step of crypto-shredding, statement by statement as they were: the data key goes
   * (and the shredding time is set), then the recipients' sealed tokens and code hashes, then
   * their portal sessions.
   */
  shredKeys(messageId: string, at: number): Promise<void>;
  /** Deletes the portal replies stored about the message (sealed under its data key). */
  removePortalReplies(messageId: string): Promise<void>;
  /** Deletes the hashes that link replies to the message. */
  removeRefs(messageId: string): Promise<void>;
  /** The secure message one of these Message-ID hashes names, if any. */
  messageByRef(refHashes: string[]): Promise<string | null>;
  /** Deletes the portal sessions that expired by `now`; how many. */
  endExpiredSessions(now: number): Promise<number>;
}
