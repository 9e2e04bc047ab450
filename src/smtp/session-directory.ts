import type { InboundRecipient } from '../directory/inbound-recipients.js';
import type { SmtpReply } from '../model/smtp-reply.js';

/** What the session hooks ask the directory about inbound mail; src/app binds each to the store. */
export interface SessionDirectory {
  /** Why an inbound credential may not relay now (revoked, its domain disconnected), or undefined. */
  inboundCredentialObjection(credentialId: string, nowMs: number): Promise<SmtpReply | undefined>;
  lookUpInboundRecipient(address: string): Promise<InboundRecipient>;
}
