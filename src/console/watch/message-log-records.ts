import type { MessageDirection, RecipientStatus } from '../../model/states.js';

// The records of the console's message log, read by src/store/message-log.ts.

/** The message log's search: every field optional; text fields match anywhere, case-insensitively. */
export interface MessageSearch {
  sender?: string | undefined;
  recipient?: string | undefined;
  subject?: string | undefined;
  /** A queue id or its beginning. */
  id?: string | undefined;
  /** Messages with at least one recipient in this state. */
  status?: RecipientStatus | undefined;
  direction?: MessageDirection | undefined;
}

export interface MessageLogEntry {
  id: string;
  direction: MessageDirection;
  mailFrom: string;
  subject: string | null;
  sizeBytes: number;
  receivedAt: number;
  completedAt: number | null;
  isDsn: boolean;
  recipients: { address: string; status: RecipientStatus }[];
  /** Mail the gateway wrote to the application about a secure message (its subject is sealed with it). */
  gatewayMail: GatewayMailKind | null;
  /** The secure message a sealed reply, receipt or report answers. */
  answers: string | null;
  /** For a secure message: whether its sender took it back. */
  secure: { revoked: boolean; shredded: boolean } | null;
}

export type GatewayMailKind = 'secure-reply' | 'read-receipt' | 'non-delivery-report';

/** What the queue view leaves out and a message's timeline shows: where it came from. */
export interface MessageOrigin {
  subject: string | null;
  clientIp: string;
  envId: string | null;
  tlsRequired: string | null;
  credential: { id: string; username: string; description: string } | null;
}
