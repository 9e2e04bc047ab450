import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import type { SmarthostTarget } from '../config/smarthost-url.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import { classifyFailure } from './classify-failure.js';
import type { Courier, OutboundMessage } from './courier.js';
import { oauthLogin } from './oauth-sasl.js';
import { clientTimeouts, type DeliveryTimeouts, watchFinalDot } from './smtp-timeouts.js';

export interface SmarthostOptions {
  target: SmarthostTarget;
  /** Our name in EHLO. */
  heloName: string;
  /** Extra trust anchors (PEM) for a smarthost with a private CA. */
  ca?: string | undefined;
  maxConnections: number;
  timeouts: DeliveryTimeouts;
}

interface SendInfo {
  accepted?: string[];
  rejectedErrors?: { recipient?: string; response?: string; responseCode?: number }[];
  response?: string;
}

/**
 * Relays through the organisation's smarthost over a connection pool. TLS is required
 * unless the target says tls=none, and the smarthost's certificate is verified (PKIX,
 * name against the configured host): credentials never cross an unauthenticated channel.
 */
export function smarthostCourier(options: SmarthostOptions): Courier {
  const { target } = options;
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: options.maxConnections,
    maxMessages: 1000,
    host: target.host,
    port: target.port,
    secure: target.tls === 'implicit',
    requireTLS: target.tls === 'starttls',
    ignoreTLS: target.tls === 'none',
    name: options.heloName,
    ...authOptions(target),
    // RFC 6066 §3: SNI carries host names only; an IP-literal smarthost is checked against its IP SAN.
    tls: {
      minVersion: 'TLSv1.2',
      ...(isIP(target.host) ? {} : { servername: target.host }),
      ...(options.ca ? { ca: options.ca } : {}),
      // Offered only when the server sends a CertificateRequest (Exchange Online's inbound connector, Postfix's smtpd_tls_ask_ccert).
      ...(target.clientCert ? { cert: target.clientCert.cert, key: target.clientCert.key } : {}),
    },
    // A pooled connection has one idle timer for every phase (nodemailer sets it on the socket
    // it owns), so it must be the longest: the wait for the reply to the final dot.
    ...clientTimeouts(options.timeouts, Math.max(options.timeouts.commandMs, options.timeouts.dataMs)),
    disableFileAccess: true,
    disableUrlAccess: true,
  });

  return {
    remote: target.host,

    async deliver(message: OutboundMessage) {
      const outcomes = new Map<string, DeliveryOutcome>();
      const body = message.openBody();
      const finalDot = watchFinalDot(body);
      try {
        const info = (await transport.sendMail({
          envelope: { from: message.mailFrom, to: message.recipients },
          raw: body,
          // RFC 8689 §4.2.1: the smarthost is the next hop; it must offer REQUIRETLS over TLS, or the message bounces (5.7.30).
          requireTLSExtensionEnabled: message.tlsRequired === 'requiretls',
        })) as SendInfo;
        const reply = (info.response ?? '250 accepted').slice(0, 500);
        for (const rejected of info.rejectedErrors ?? []) {
          if (rejected.recipient) outcomes.set(rejected.recipient, classifyFailure(rejected));
        }
        for (const address of info.accepted ?? []) outcomes.set(address, { kind: 'delivered', reply });
      } catch (err) {
        // Every recipient refused at RCPT comes with its own reply; anything else failed them all.
        const perRecipient = (err as SendInfo).rejectedErrors;
        for (const rejected of perRecipient ?? []) {
          if (rejected.recipient) outcomes.set(rejected.recipient, classifyFailure(rejected));
        }
        const shared = classifyFailure(finalDot(err));
        for (const address of message.recipients) if (!outcomes.has(address)) outcomes.set(address, shared);
      } finally {
        body.destroy();
      }
      for (const address of message.recipients) {
        if (!outcomes.has(address)) outcomes.set(address, { kind: 'deferred', reason: 'unknown', reply: 'no reply for this recipient' });
      }
      return outcomes;
    },

    async close() {
      transport.close();
    },
  };
}

/** SMTP AUTH with a password, or OAuth 2.0 through our own SASL handler (retry with a fresh token, the provider's reason kept). */
export function authOptions(target: SmarthostTarget): Record<string, unknown> {
  if (target.oauth) {
    const { mechanism, user } = target.oauth;
    return { auth: { type: 'custom', method: mechanism, user }, customAuth: { [mechanism]: oauthLogin(target.oauth) } };
  }
  return target.auth ? { auth: target.auth } : {};
}

/** Used when no smarthost is configured and direct delivery is off: mail waits in the queue, and says why. */
export function unconfiguredCourier(): Courier {
  return {
    remote: undefined,
    async deliver(message) {
      const outcome: DeliveryOutcome = {
        kind: 'deferred',
        reason: 'config',
        reply: 'no smarthost configured and direct MX delivery is off: set RELAYGATE_SMARTHOST (smtp://user:pass@host:port) or delivery.direct',
      };
      return new Map(message.recipients.map((address) => [address, outcome]));
    },
    async close() {},
  };
}
