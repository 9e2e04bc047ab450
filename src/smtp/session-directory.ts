import type { InboundRecipient } from '../directory/inbound-recipients.js';
import type { SmtpReply } from '../model/smtp-reply.js';

/** What the session hooks ask the directory besides credentials; src/app binds each to the store. */
export interface SessionDirectory {
  /** The credential of `username` has allowed networks and `ip` is in none of them (credential-login.ts). */
  outsideAllowedNetworks(username: string, ip: string): Promise<boolean>;
  /** Why an inbound credential may not relay now (revoked, its domain disconnected), or undefined. */
  inboundCredentialObjection(credentialId: string, nowMs: number): Promise<SmtpReply | undefined>;
  lookUpInboundRecipient(address: string): Promise<InboundRecipient>;
}
