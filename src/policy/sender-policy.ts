import type { SmtpReply } from '../model/smtp-reply.js';

/**
 * A decision about who a submission may claim to be. Each check answers undefined (no
 * objection) or the SmtpReply to refuse with; the first objection wins.
 */
export interface SenderPolicy {
  /** At MAIL FROM: may this credential use this envelope sender ('' is the null sender)? */
  checkMailFrom(credentialId: string, mailFrom: string): Promise<SmtpReply | undefined>;
  /** After DATA: may it use these header From: addresses? */
  checkHeaderFrom(credentialId: string, fromAddresses: string[]): Promise<SmtpReply | undefined>;
}

export function composeSenderPolicies(policies: SenderPolicy[]): SenderPolicy {
  const first = async (check: (p: SenderPolicy) => Promise<SmtpReply | undefined>) => {
    for (const policy of policies) {
      const objection = await check(policy);
      if (objection) return objection;
    }
    return undefined;
  };
  return {
    checkMailFrom: (credentialId, mailFrom) => first((p) => p.checkMailFrom(credentialId, mailFrom)),
    checkHeaderFrom: (credentialId, from) => first((p) => p.checkHeaderFrom(credentialId, from)),
  };
}
