import type { InboundRecipient } from '../directory/inbound-recipients.js';
import { SmtpReply } from '../model/smtp-reply.js';

/** Who is relaying inbound mail: the domain of an inbound credential, or nobody (unauthenticated). */
export type InboundSender = { kind: 'inbound-credential'; domainId: string; domain: string } | { kind: 'unauthenticated' };

/**
 * May this client relay to this recipient? An inbound credential reaches the addresses and
 * aliases of its own domain only; an unauthenticated client (when the operator allows it)
 * reaches known addresses of any verified domain, and nothing else: no open relay.
 * Undefined means yes.
 */
export function inboundRecipientObjection(sender: InboundSender, address: string, recipient: InboundRecipient): SmtpReply | undefined {
  if (sender.kind === 'inbound-credential') {
    if (recipient.kind === 'foreign' || recipient.domainId !== sender.domainId)
      return SmtpReply.relayDenied(address, `in ${sender.domain}, the domain of this credential`);
    if (recipient.kind === 'unknown-address') return SmtpReply.unknownRecipient(address);
    if (recipient.connectorState === 'draining') return SmtpReply.domainDisconnecting(recipient.domain);
    if (recipient.connectorState === 'disconnected') return SmtpReply.domainDisconnected(recipient.domain);
    return heldForDisabledTarget(recipient);
  }
  if (recipient.kind === 'foreign') return SmtpReply.relayDenied(address, 'an address this gateway receives for');
  if (recipient.kind === 'unknown-address') return SmtpReply.unknownRecipient(address);
  // After a disconnect, mail for known addresses still arrives, marked unauthenticated.
  return heldForDisabledTarget(recipient);
}

/**
 * A 4xx, not a 5xx: the organisation's server keeps the mail and retries, so nothing is
 * bounced while an administrator decides about the application that answered 410 Gone.
 */
function heldForDisabledTarget(recipient: Extract<InboundRecipient, { kind: 'known' }>): SmtpReply | undefined {
  return recipient.targetDisabled ? SmtpReply.applicationDisabled(recipient.domain) : undefined;
}
