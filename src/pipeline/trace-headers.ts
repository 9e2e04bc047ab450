import { rfc5322Date } from '../lib/rfc5322-date.js';

const HELO_CHARACTERS = /^[A-Za-z0-9.:[\]-]{1,255}$/;

export interface TraceSession {
  /** The client's claim about itself in HELO/EHLO, a domain or address literal (checked at the command). */
  heloName: string;
  /** The address of the connection, from the socket. */
  clientIp: string;
  tlsProtocol?: string | undefined;
  tlsCipher?: string | undefined;
  authenticated: boolean;
}

/**
 * The gateway's Received header (RFC 5321 §4.4), with the protocol named per RFC 3848
 * (ESMTPSA: authenticated over TLS) and the TLS parameters in a comment, as Postfix does.
 * No `for <rcpt>` clause: it would disclose Bcc recipients.
 * RFC 5321 §4.4 Extended-Domain: the name the client gave in EHLO comes first, as its claim,
 * and the TCP-info comment carries the address of the connection, never one from the
 * client. Anything but the characters of a domain or address literal (which the EHLO check
 * already enforces) is shown as `unknown`, so a claim can never add a comment of its own.
 */
export function receivedHeader(session: TraceSession, byHost: string, queueId: string, now: number): string {
  const literal = session.clientIp.includes(':') ? `[IPv6:${session.clientIp}]` : `[${session.clientIp}]`;
  const claimed = HELO_CHARACTERS.test(session.heloName) ? session.heloName : 'unknown';
  const protocol = `ESMTP${session.tlsProtocol ? 'S' : ''}${session.authenticated ? 'A' : ''}`;
  const tls = session.tlsProtocol ? `\r\n\t(version=${session.tlsProtocol} cipher=${session.tlsCipher ?? 'unknown'})` : '';
  return `Received: from ${claimed} (${literal})\r\n\tby ${byHost} (Relaygate) with ${protocol} id ${queueId}${tls};\r\n\t${rfc5322Date(now)}\r\n`;
}
