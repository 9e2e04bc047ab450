import type { SmtpReply } from '../model/smtp-reply.js';

/**
 * A decision about who a submission may claim to be. Each check answers undefined (no
 * objection) or the SmtpReply to refuse with.
 */
export interface SenderPolicy {
  /** At MAIL FROM: may this credential use this envelope sender ('' is the null sender)? */
  checkMailFrom(credentialId: string, mailFrom: string): Promise<SmtpReply | undefined>;
  /** After DATA: may it use these header From: addresses? */
  checkHeaderFrom(credentialId: string, fromAddresses: string[]): Promise<SmtpReply | undefined>;
}
