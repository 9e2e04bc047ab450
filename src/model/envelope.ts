/** The SMTP envelope of one message as the gateway keeps it (RFC 5321 §3.3, RFC 3461). */
export interface Envelope {
  /** Empty string for the null reverse-path `<>`. */
  mailFrom: string;
  recipients: EnvelopeRecipient[];
  envId?: string | undefined;
  ret?: 'FULL' | 'HDRS' | undefined;
}

export interface EnvelopeRecipient {
  address: string;
  /** RFC 3461 NOTIFY values, e.g. ['FAILURE'] or ['NEVER']. */
  notify?: string[] | undefined;
  orcpt?: string | undefined;
}
