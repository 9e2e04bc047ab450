import { type DeliveryOutcome, enhancedStatusOf, type FailureReason } from '../model/outcome.js';

interface SmtpClientError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
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
 * The one place that turns whatever an SMTP client threw into an outcome. A 5xx reply
 * from the remote bounces; everything else, including errors it does not recognise,
 * defers: a temporary condition must never cost a message.
 */
export function classifyFailure(err: unknown): Exclude<DeliveryOutcome, { kind: 'delivered' }> {
  const e = (err ?? {}) as SmtpClientError;
  const reply = (e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim().slice(0, 500);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600 && e.code !== 'EAUTH') {
    return { kind: 'bounced', reason: 'remote-reply', reply, status: enhancedStatusOf(reply, '5.0.0') };
  }
  return { kind: 'deferred', reason: reasonOf(e), reply };
}

function reasonOf(e: SmtpClientError): FailureReason {
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') return 'auth';
  if (e.code === 'ETLS' || /certificate|TLS|SSL/i.test(e.message ?? '')) return 'tls';
  if (typeof e.responseCode === 'number') return 'remote-reply';
  if (e.code && CONNECTION_CODES.has(e.code)) return 'connection';
  return 'unknown';
}
