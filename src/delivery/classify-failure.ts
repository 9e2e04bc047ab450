import { type DeliveryOutcome, enhancedStatusOf, type FailureReason } from '../model/outcome.js';

interface SmtpClientError {
  code?: string;
  /** The SMTP command the reply answered (nodemailer sets it), e.g. 'RCPT TO', 'STARTTLS'. */
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  /** Set by watchFinalDot (smtp-timeouts.ts): the whole body had been sent. */
  afterFinalDot?: boolean;
}

const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'ECONNREFUSED',
  'ECONNRESET',
  'EDNS',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTOCOL',
]);

/**
 * RFC 5321 §4.5.3.2.6 and §6.1: the message may have been taken even though its reply never
 * came; retrying may deliver it twice, which is still better than losing it.
 */
export const FINAL_DOT_TIMEOUT = 'timeout after the final dot: the remote may have the message';

/** Replies about the message itself; a 5xx to anything else (EHLO, STARTTLS, AUTH) is about our link to the next hop. */
const MESSAGE_COMMANDS = /^(MAIL FROM|RCPT TO|DATA)\b/;

/**
 * The one place that turns whatever an SMTP client threw into an outcome. A 5xx reply
 * to MAIL, RCPT or DATA bounces; everything else, including a refused STARTTLS or AUTH
 * and errors it does not recognise, defers: a fault on our side or the link's must never
 * cost a message.
 */
export function classifyFailure(err: unknown): Exclude<DeliveryOutcome, { kind: 'delivered' }> {
  const e = (err ?? {}) as SmtpClientError;
  const text = (e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim().slice(0, 500);
  // Name the step when it was not about the message, so "500 command not recognized" reads as a STARTTLS problem.
  const reply = e.command && !MESSAGE_COMMANDS.test(e.command) && e.command !== 'CONN' ? `${e.command}: ${text}` : text;
  // RFC 8689 §4.2.1: a REQUIRETLS message whose next hop cannot take it over TLS is returned, not retried.
  if (e.afterFinalDot && e.code === 'ETIMEDOUT') return { kind: 'deferred', reason: 'final-dot-timeout', reply: `${FINAL_DOT_TIMEOUT} (${text})` };
  if (e.code === 'EREQUIRETLS') return { kind: 'bounced', reason: 'tls-policy', reply: `550 5.7.30 REQUIRETLS support required: ${text}`, status: '5.7.30' };
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600 && MESSAGE_COMMANDS.test(e.command ?? '')) {
    return { kind: 'bounced', reason: 'remote-reply', reply, status: enhancedStatusOf(reply, '5.0.0') };
  }
  return { kind: 'deferred', reason: reasonOf(e), reply };
}

function reasonOf(e: SmtpClientError): FailureReason {
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') return 'auth';
  if (e.code === 'ETLS' || e.command === 'STARTTLS' || /certificate|TLS|SSL/i.test(e.message ?? '')) return 'tls';
  if (typeof e.responseCode === 'number') return 'remote-reply';
  if (e.code && CONNECTION_CODES.has(e.code)) return 'connection';
  return 'unknown';
}
