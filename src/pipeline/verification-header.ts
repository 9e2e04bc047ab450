import type { RelayFacts } from '../inbound/webhook-payload.js';
import { headerFields } from './header-from.js';

/** The field our verification mails carry their token in (connector/verification-token.ts). */
export const VERIFICATION_HEADER = 'X-Relaygate-Verification';

/** Whoever judges a returning token: true when it was one of ours (the mail is consumed, never queued or relayed). */
export interface VerificationReturns {
  verificationArrived(token: string, relay: RelayFacts): Promise<boolean>;
}

export function verificationTokenOf(headers: Buffer): string | undefined {
  const name = VERIFICATION_HEADER.toLowerCase();
  return headerFields(headers)
    .find((f) => f.name.toLowerCase() === name)
    ?.value.trim();
}

/**
 * One of the gateway's own verification mails, come back: on the inbound path as it should,
 * or over a submission session, where relaying it would send it round the loop again.
 */
export async function isReturnedVerification(ctx: VerificationReturns, headers: Buffer, relay: RelayFacts): Promise<boolean> {
  const token = verificationTokenOf(headers);
  return token !== undefined && token !== '' && (await ctx.verificationArrived(token, relay));
}
