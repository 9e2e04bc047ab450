/** The SMTP envelope of one message as the gateway keeps it (RFC 5321 §3.3, RFC 3461). */
export interface Envelope {
  /** Empty string for the null reverse-path `<>`. */
  mailFrom: string;
  recipients: EnvelopeRecipient[];
  envId?: string | undefined;
  ret?: 'FULL' | 'HDRS' | undefined;
  /** MAIL FROM … REQUIRETLS (RFC 8689 §4.1): every hop must be verified TLS. */
  requireTls?: boolean | undefined;
}

export interface EnvelopeRecipient {
  address: string;
  /** RFC 3461 NOTIFY values, e.g. ['FAILURE'] or ['NEVER']. */
  notify?: string[] | undefined;
  orcpt?: string | undefined;
}

/**
 * What the sender asked of transport security (RFC 8689): `requiretls` from the MAIL FROM
 * parameter, or `no` from a `TLS-Required: No` header field, which lets delivery go on when
 * DANE or MTA-STS checks fail (§5). The header is ignored when REQUIRETLS was given.
 */
export type TlsRequired = 'requiretls' | 'no';
