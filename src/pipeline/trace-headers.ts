import { rfc5322Date } from '../lib/rfc5322-date.js';

export interface TraceSession {
  heloName: string;
  clientIp: string;
  tlsProtocol?: string | undefined;
  tlsCipher?: string | undefined;
  authenticated: boolean;
}

/**
 * The gateway's Received header (RFC 5321 §4.4), with the protocol named per RFC 3848
 * (ESMTPSA: authenticated over TLS) and the TLS parameters in a comment, as Postfix does.
 * No `for <rcpt>` clause: it would disclose Bcc recipients.
 */
export function receivedHeader(session: TraceSession, byHost: string, queueId: string, now: number): string {
  const literal = session.clientIp.includes(':') ? `[IPv6:${session.clientIp}]` : `[${session.clientIp}]`;
  const protocol = `ESMTP${session.tlsProtocol ? 'S' : ''}${session.authenticated ? 'A' : ''}`;
  const tls = session.tlsProtocol ? `\r\n\t(version=${session.tlsProtocol} cipher=${session.tlsCipher ?? 'unknown'})` : '';
  return `Received: from ${session.heloName} (${literal})\r\n\tby ${byHost} (Relaygate) with ${protocol} id ${queueId}${tls};\r\n\t${rfc5322Date(now)}\r\n`;
}
