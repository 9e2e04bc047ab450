/**
 * Why a delivery did not succeed, named so an operator knows where to look: `dns` (MX or
 * address lookups), `dane` and `mta-sts` (the recipient domain's TLS policy was not met),
 * `tls-policy` (our own per-domain requirement or the message's REQUIRETLS was not met),
 * `final-dot-timeout` (no reply to the end of the message: the remote may have it, RFC 5321 §6.1).
 * `body-torn` and `body-missing` (the stored body no longer matches its queue row: parked).
 */
export type FailureReason =
  | 'remote-reply'
  | 'connection'
  | 'tls'
  | 'auth'
  | 'config'
  | 'application'
  | 'expired'
  | 'dns'
  | 'dane'
  | 'mta-sts'
  | 'tls-policy'
  | 'final-dot-timeout'
  | 'body-torn'
  | 'body-missing'
  | 'unknown';

/** Which rule decided how the MX host had to be reached. `override` is a per-domain requirement (`relaygate tls-policy`). */
export type TlsPolicyApplied = 'dane' | 'mta-sts-enforce' | 'mta-sts-testing' | 'opportunistic' | 'override';

/** How the peer proved who it is: a TLSA match (RFC 7672 §3.1), a CA chain to the MX name (RFC 6125), or not at all. */
export type PeerAuthentication = 'DANE-EE' | 'DANE-TA' | 'PKIX' | 'none';

/**
 * What the DNS said, as DNSSEC judged it: `secure` = the validating resolver set AD,
 * `insecure` = an answer without AD; for TLSA also `secure-denial` (a validated "no such
 * record") and `not-queried` (RFC 7672 §2.2: only asked when the MX and address answers are secure).
 */
export type DnssecState = 'secure' | 'insecure' | 'secure-denial' | 'not-queried';

/** How one recipient was delivered over direct MX delivery: enough to show later that the policy held. */
export interface DeliveryEvidence {
  policy: TlsPolicyApplied;
  /** The per-domain requirement in force, if any, and the message's RFC 8689 request. */
  override: 'require-tls' | 'require-dane' | 'require-verified' | null;
  tlsRequired: 'requiretls' | 'no' | null;
  mxHost: string;
  /** The address dialled, host:port. */
  mxAddress: string;
  dnssec: { mx: DnssecState; tlsa: DnssecState };
  /** Null when the session stayed in plaintext. */
  tls: { version: string; cipher: string } | null;
  peerAuthentication: PeerAuthentication;
  /** The TLSA record that matched (usage selector matching-type), when DANE authenticated the peer. */
  tlsaMatch: string | null;
  /** SHA-256 of the peer certificate's SubjectPublicKeyInfo, hex: what a `3 1 1` record would carry. */
  spkiSha256: string | null;
  /** The MTA-STS policy consulted, if the domain has one. */
  mtaSts: { id: string; mode: 'enforce' | 'testing' } | null;
  /** Checks that failed without stopping delivery (MTA-STS testing mode, TLS-Required: No). */
  policyFailures: string[];
  reply: string;
}

/**
 * What happened to one recipient in one attempt: data, never an exception. Unknown
 * failures are deferred, never bounced: a temporary mistake must not lose mail.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; reply: string; evidence?: DeliveryEvidence | undefined }
  | { kind: 'deferred'; reason: FailureReason; reply: string }
  | { kind: 'bounced'; reason: FailureReason; reply: string; status: string };

export function enhancedStatusOf(reply: string, fallback: string): string {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? fallback;
}
