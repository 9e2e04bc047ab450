import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../lib/rfc5322-date.js';
import type { Leg } from '../model/states.js';
import { VERIFICATION_HEADER } from '../pipeline/verification-header.js';

const EXPLANATION: Record<Leg, string> = {
  outbound:
    'This message left the gateway through your outbound connection (your smarthost). When your mail server relays it back to the gateway, the outbound leg is verified.',
  inbound:
    "This message must come back to the gateway through your mail server's authenticated relay, signed in with the domain's inbound credential over TLS. When it does, the inbound leg is verified.",
};

/**
 * A verification mail: to and from the support address (the organisation's smarthost accepts
 * its own domain as sender), marked auto-generated (RFC 3834) so nobody auto-replies to it,
 * carrying its one-time token in a header the gateway consumes when it comes back.
 */
export function verificationMail(o: { leg: Leg; domain: string; address: string; token: string; hostname: string; now: number }): Buffer {
  const messageId = `<verify.${randomBytes(12).toString('hex')}@${o.hostname}>`;
  const lines = [
    `From: Relaygate verification <${o.address}>`,
    `To: <${o.address}>`,
    `Subject: Relaygate connection check for ${o.domain} (${o.leg} leg)`,
    `Date: ${rfc5322Date(o.now)}`,
    `Message-ID: ${messageId}`,
    'Auto-Submitted: auto-generated',
    `${VERIFICATION_HEADER}: ${o.token}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    `Relaygate is checking the ${o.leg} leg of the connection for ${o.domain}.`,
    '',
    EXPLANATION[o.leg],
    '',
    'Nothing needs to be done with this message; the gateway removes it when it returns.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
