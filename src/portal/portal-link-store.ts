/** A secure message's recipient, as the portal sees it. */
export interface PortalRecipient {
  id: string;
  messageId: string;
  address: string;
  openedAt: number | null;
  revokedAt: number | null;
  otpHash: string | null;
  otpExpiresAt: number | null;
  otpAttempts: number;
  otpSentAt: number | null;
  /** Wrong codes over the link's lifetime; reset by an unlock. */
  otpFailures: number;
  /** When too many wrong codes locked the link; null while it opens. */
  lockedAt: number | null;
}

/** A secure message, as the portal sees it. */
export interface PortalMessage {
  /** The queue id of the message that carried it in. */
  id: string;
  organisationId: string;
  sender: string;
  /** False once shredded: the data key is gone. */
  hasDataKey: boolean;
  retainUntil: number;
  revokedAt: number | null;
  shreddedAt: number | null;
  /** The message's Content-Language if the portal speaks it; null: the organisation's default. */
  language: string | null;
}

/** One of a recipient's replies, sealed under the message's data key. */
export interface StoredPortalReply {
  id: string;
  messageId: string;
  recipientId: string;
  createdAt: number;
  contentSealed: string;
}

/** The secure-message rows the portal reads and the few it marks. */
export interface PortalLinkStore {
  /** The recipient whose portal token hashes to `tokenHash`. */
  recipientByToken(tokenHash: string): Promise<PortalRecipient | undefined>;
  message(id: string): Promise<PortalMessage | undefined>;
  /** Sets the first view's time; true only for the request that set it. */
  markOpened(recipientId: string, at: number): Promise<boolean>;
  markReplied(recipientId: string, at: number): Promise<void>;
  /** Whether the organisation sends read receipts, and in which format; undefined for an unknown organisation. */
  readReceipts(organisationId: string): Promise<{ enabled: boolean; format: 'mdn' | 'text' } | undefined>;
  insertReply(reply: StoredPortalReply): Promise<void>;
  /** The recipient's own replies to the message, oldest first (then by id). */
  replies(messageId: string, recipientId: string): Promise<Pick<StoredPortalReply, 'createdAt' | 'contentSealed'>[]>;
}
