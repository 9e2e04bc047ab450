import type { TlsRequirement } from '../model/states.js';

// Apart from delivery-policies.ts so that the CLI's --help can name them without loading the directory.
export const TLS_REQUIREMENTS = ['tls', 'dane', 'verified'] as const satisfies readonly TlsRequirement[];

/** What each requirement demands of direct MX delivery to the domain, for help texts and the API. */
export const REQUIREMENT_HELP: Record<TlsRequirement, string> = {
  tls: 'STARTTLS must succeed; any certificate',
  dane: 'the MX host must have DNSSEC-signed TLSA records that match its certificate (RFC 7672)',
  verified: 'the certificate must be authenticated: DANE, or a CA chain to the MX host name (PKIX)',
};
