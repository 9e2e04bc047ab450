import type { Envelope, TlsRequired } from '../model/envelope.js';
import type { DeliveryEvidence } from '../model/outcome.js';
import type { MessageDirection, RecipientStatus } from '../model/states.js';

export interface NewMessage {
  id: string;
  envelope: Envelope;
  sizeBytes: number;
  receivedAt: number;
  expiresAt: number;
  credentialId: string | null;
  clientIp: string;
  isDsn: boolean;
  direction?: MessageDirection | undefined;
  /** What the gateway learnt of an inbound message on arrival. */
  inbound?: InboundRecord | undefined;
  /** Already handed on before it was stored (a synchronous webhook): recorded as delivered with this reply. */
  deliveredWith?: string | undefined;
  /** What the sender asked of transport security (RFC 8689). */
  tlsRequired?: TlsRequired | undefined;
  /** The decoded Subject, for the message log; never set for a secure message. */
  subject?: string | null | undefined;
  /** A secure message: its body in the spool is ciphertext under this record's data key. */
  secure?: NewSecureMessage | undefined;
}

export interface NewSecureMessage {
  organisationId: string;
  dataKeySealed: string;
  bodyIv: string;
  bodyTag: string;
  metaSealed: string;
  retainUntil: number;
  /** The portal locale its Content-Language names, if any (src/i18n). */
  language?: string | null | undefined;
  recipients: { id: string; address: string; tokenHash: string; tokenSealed: string }[];
  /** Keyed hashes of the Message-IDs its replies will name (src/secure/secure-replies.ts). */
  replyRefs: string[];
}

export interface InboundRecord {
  /** JSON of the relay facts (credential, domain, TLS). */
  relay: string;
  authenticationResults: string;
  /** JSON of the authentication facts. */
  authentication: string;
  contentHash: string;
}

export interface DueRecipient {
  id: number;
  address: string;
  attempts: number;
  notify: string[] | undefined;
  orcpt: string | undefined;
}

export interface DueMessage {
  id: string;
  mailFrom: string;
  sizeBytes: number;
  receivedAt: number;
  expiresAt: number;
  envId: string | undefined;
  ret: 'FULL' | 'HDRS' | undefined;
  isDsn: boolean;
  direction: MessageDirection;
  tlsRequired: TlsRequired | undefined;
  /** The application's credential that submitted it; null for the gateway's own mail (verification, portal mails, DSNs). */
  credentialId: string | null;
  /** Only the recipients this claim leased: due, not final, not leased by anyone else. */
  recipients: DueRecipient[];
}

export interface RecipientUpdate {
  id: number;
  address: string;
  status: RecipientStatus;
  nextAttemptAt: number;
  reply: string;
  /** For the event log: why it was deferred or bounced. */
  reason?: string | undefined;
  /** How a delivered recipient was delivered (direct MX delivery), kept with its event. */
  evidence?: DeliveryEvidence | undefined;
}

/** One delivery attempt of one message, as recorded. */
export interface AttemptRecord {
  messageId: string;
  updates: RecipientUpdate[];
  /** The DSN reporting this attempt's bounces, committed with them. */
  dsn?: NewMessage | undefined;
  /** Delivery events for the application's webhook, committed with the outcomes they report. */
  events?: NewDeliveryEvent[] | undefined;
}

export interface NewDeliveryEvent {
  id: string;
  senderDomain: string;
  payload: string;
  expiresAt: number;
}

export interface RecipientView {
  address: string;
  status: RecipientStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastReply: string | null;
}

export interface MessageView {
  id: string;
  mailFrom: string;
  sizeBytes: number;
  receivedAt: number;
  expiresAt: number;
  completedAt: number | null;
  isDsn: boolean;
  direction: MessageDirection;
  recipients: RecipientView[];
}

export interface EventView {
  at: number;
  kind: string;
  recipient: string | null;
  detail: string | null;
  evidence: DeliveryEvidence | null;
}

/**
 * The queue's durable state. Contract for every engine:
 * - commit() stores whole messages with all their recipients in one transaction, or none,
 *   and resolves once they are durable. If it rejects, the client is refused and sends them
 *   again: claimDue() in this process never returns them, and if the transaction was
 *   committed but its sync failed, it is undone (store/delete-messages.ts);
 * - claimDue() leases due recipients so that no other worker (in this or another process)
 *   gets them until the lease expires or recordOutcomes()/releaseLeases() clears it;
 * - a message is complete when no recipient is queued, deferred or parked (failed);
 * - recordOutcomes() applies attempts' results, and the DSNs that report their bounces,
 *   in one transaction, so a crash can neither lose a bounce report nor resend to a
 *   recipient already recorded as delivered. It returns the ids of messages now complete.
 */
export interface QueueStore {
  commit(messages: NewMessage[]): Promise<void>;
  claimDue(owner: string, now: number, maxMessages: number, leaseMs: number): Promise<DueMessage[]>;
  recordOutcomes(attempts: AttemptRecord[], now: number): Promise<Set<string>>;
  /**
   * 'all' is for a single-instance store at start: no other live process can hold a lease.
   * `{ instance }`: the leases of every earlier run of this instance (owners `instance:…`).
   */
  releaseLeases(owner: string | 'all' | { instance: string }): Promise<void>;
  /** Extends the owner's leases on these messages while their deliveries are still running. */
  renewLeases(owner: string, messageIds: string[], until: number): Promise<void>;
  /** When the next recipient becomes claimable: due, and not leased past that time. */
  nextDueAt(): Promise<number | undefined>;
  list(options: { includeCompleted: boolean; limit: number }): Promise<MessageView[]>;
  show(id: string): Promise<(MessageView & { events: EventView[] }) | undefined>;
  /**
   * Makes every deferred, queued or parked (failed) recipient of the message due now; returns
   * how many. A parked message gets until `expiresAt` for its new attempts.
   */
  retry(id: string, now: number, expiresAt: number): Promise<number>;
  remove(id: string, now: number): Promise<boolean>;
  /** Ids among `ids` whose body is still needed: recipients to deliver, parked, or an inbound body kept for its download links. */
  activeIds(ids: string[]): Promise<Set<string>>;
  /** Completed inbound messages whose bodies were kept until `before`: their bodies may go now. */
  retainedBodiesBefore(before: number, limit: number): Promise<string[]>;
  markBodiesPurged(ids: string[], now: number): Promise<void>;
  /** The facts stored with an inbound message. */
  inboundRecord(id: string): Promise<InboundRecord | undefined>;
}
