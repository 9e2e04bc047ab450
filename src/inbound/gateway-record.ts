import { createHash } from 'node:crypto';
import type { InboundRecord } from '../queue/queue-store.js';
import type { RelayFacts } from './webhook-payload.js';

/** Mail the gateway writes to the application itself, about a secure message. */
export type GatewayMailKind = 'secure-reply' | 'read-receipt' | 'non-delivery-report';

const COMMENT: Record<GatewayMailKind, string> = {
  'secure-reply': 'a secure reply written in the portal after the recipient proved the address with a one-time code',
  'read-receipt': 'a read receipt written by this gateway',
  'non-delivery-report': 'a non-delivery report written by this gateway',
};

/**
 * The inbound record of mail that never crossed an SMTP hop: it reaches the application
 * through the inbound leg like relayed mail, so the application sees the whole conversation,
 * and its Authentication-Results (RFC 8601) say where it came from instead of what SPF or
 * DKIM would say of a message nobody relayed. A portal reply is marked with the address the
 * recipient proved (an `x-` method, RFC 8601 §2.7.6); the rest carry no result.
 */
export function gatewayRecord(o: {
  kind: GatewayMailKind;
  hostname: string;
  envelope: { mailFrom: string; recipients: string[] };
  body: Buffer;
  /** For a portal reply: who proved the address, and from where. */
  provedAddress?: string | undefined;
  clientIp?: string | undefined;
}): InboundRecord {
  const result = o.provedAddress ? `x-relaygate-portal=pass smtp.mailfrom=${o.provedAddress}` : 'none';
  const relay: RelayFacts = {
    authenticated: o.provedAddress !== undefined,
    credentialId: null,
    domain: null,
    clientIp: o.clientIp ?? '127.0.0.1',
    tlsVersion: null,
    tlsCipher: null,
  };
  const hash = createHash('sha256').update(JSON.stringify(o.envelope)).update(o.body);
  return {
    relay: JSON.stringify(relay),
    authenticationResults: `Authentication-Results: ${o.hostname}; ${result}\r\n (${COMMENT[o.kind]})\r\n`,
    authentication: JSON.stringify({ origin: o.kind, provedAddress: o.provedAddress ?? null }),
    contentHash: hash.digest('hex'),
  };
}
