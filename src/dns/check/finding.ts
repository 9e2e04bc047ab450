/**
 * What the DNS checker reports, as data the CLI renders as a table and the API returns as JSON.
 * A status is judged against what the gateway needs of a domain: `fail` is something that
 * breaks direct delivery or mail authentication, or a record that is wrong; `warn` works but
 * is weaker than it should be, or an optional record is missing; `pass` is as it should be.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export type CheckName = 'dnssec' | 'mx' | 'tlsa' | 'starttls' | 'mta-sts' | 'tls-rpt' | 'spf' | 'dkim' | 'dmarc';

/** A DNS record in presentation form: `value` is the RDATA as a zone file writes it, TXT quoted. */
export interface RecordText {
  name: string;
  type: 'MX' | 'TLSA' | 'TXT';
  value: string;
}

/** A file to serve over HTTPS: the MTA-STS policy (RFC 8461 §3.2). */
export interface FileText {
  url: string;
  contentType: string;
  content: string;
}

/** What to do about a finding: the records to publish, replace with, or remove, and how, in one sentence. */
export interface Fix {
  action: 'publish' | 'replace' | 'remove' | 'change';
  records: RecordText[];
  how: string;
  file?: FileText;
}

export interface Finding {
  check: CheckName;
  /** The name looked up (`_mta-sts.example.com`), or the MX host for TLSA. */
  subject: string;
  status: CheckStatus;
  /** One sentence: what was found and what it means. */
  summary: string;
  /** The records found, as published. */
  found: string[];
  fix: Fix | null;
}

/** How the gateway may hand secure messages to the domain in the clear (DESIGN.md, inbound direct delivery). */
export type DirectDeliveryLevel = 'dnssec+dane' | 'dnssec+pkix' | 'not-possible';

export interface DirectDeliveryVerdict {
  level: DirectDeliveryLevel;
  /** "DNSSEC + DANE", "DNSSEC + PKIX", or "not possible, because …". */
  text: string;
  /** Why not, one entry per obstacle; empty when possible. */
  reasons: string[];
}

export interface DomainCheck {
  domain: string;
  /** Epoch ms. */
  checkedAt: number;
  findings: Finding[];
  directDelivery: DirectDeliveryVerdict;
}

/**
 * A TXT value as a zone file writes it (RFC 1035 §5.1): quoted, quotes and backslashes
 * escaped, and cut into character-strings of at most 255 octets (RFC 1035 §3.3.14), which
 * DKIM keys outgrow; readers join them again (RFC 6376 §3.6.2.2, RFC 7208 §3.3).
 */
export function quoted(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length || parts.length === 0; i += 255) parts.push(value.slice(i, i + 255));
  return parts.map((part) => `"${part.replace(/["\\]/g, '\\$&')}"`).join(' ');
}

export const txt = (name: string, value: string): RecordText => ({ name, type: 'TXT', value: quoted(value) });

export function finding(check: CheckName, subject: string, status: CheckStatus, summary: string, found: string[] = [], fix: Fix | null = null): Finding {
  return { check, subject, status, summary, found, fix };
}
