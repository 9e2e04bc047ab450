/** Why a delivery did not succeed, named so an operator knows where to look. */
export type FailureReason = 'remote-reply' | 'connection' | 'tls' | 'auth' | 'config' | 'application' | 'expired' | 'unknown';

/**
 * What happened to one recipient in one attempt: data, never an exception. Unknown
 * failures are deferred, never bounced: a temporary mistake must not lose mail.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; reply: string }
  | { kind: 'deferred'; reason: FailureReason; reply: string }
  | { kind: 'bounced'; reason: FailureReason; reply: string; status: string };

export function enhancedStatusOf(reply: string, fallback: string): string {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? fallback;
}
