import type { SecureRecipientStatus } from '../model/states.js';
import type { SecureSettingsReads } from '../secure/secure-settings-store.js';

/** One recipient of a secure message, as its delivery needs it. */
export interface SecureDeliveryRecipient {
  id: string;
  address: string;
  /** The portal token, sealed by the key-encryption key; null once the message was shredded. */
  tokenSealed: string | null;
  revokedAt: number | null;
}

/** What an attempt made of a recipient, for the sender's status view: only the fields given change. */
export interface SecureRecipientProgress {
  status?: SecureRecipientStatus;
  deliveredVia?: 'portal' | 'direct';
  /** JSON of the delivery evidence. */
  evidence?: string | null;
  fallbackReason?: string | null;
  notifiedAt?: number;
  bouncedAt?: number;
}

/** What the secure courier (secure-courier.ts) reads and writes; the organisation's settings give the subject rule and the branding. */
export interface SecureDeliveryStore extends SecureSettingsReads {
  recipients(messageId: string): Promise<SecureDeliveryRecipient[]>;
  recordProgress(recipientId: string, progress: SecureRecipientProgress): Promise<void>;
  /** Links a Message-ID hash to the secure message, for replies to it; a hash already linked stays as it is. */
  linkReference(refHash: string, secureMessageId: string): Promise<void>;
}

/** What inbound direct delivery (direct-secure-delivery.ts) asks of the domains. */
export interface DirectDeliveryDomains {
  /** True when a verified domain of that name (in any organisation) is flagged for direct delivery. */
  isFlagged(domain: string): Promise<boolean>;
}
