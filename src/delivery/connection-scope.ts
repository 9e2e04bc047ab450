import { normaliseDomain } from '../policy/route-match.js';

export const SCOPE_KINDS = ['domain', 'address'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/**
 * The scope of an outbound connection as stored and compared: a domain, or an address.
 * RFC 5321 §2.4 lets a local part be case-sensitive, but a choice of smarthost that told
 * Support@ from support@ would only surprise; scopes compare without case.
 */
export function normaliseScope(kind: ScopeKind, text: string): { scope: string } | { problem: string } {
  if (kind === 'domain') {
    const domain = normaliseDomain(text);
    return domain ? { scope: domain } : { problem: `"${text}" is not a domain name such as example.com` };
  }
  const at = text.lastIndexOf('@');
  const local = text.slice(0, Math.max(at, 0)).trim();
  const domain = at > 0 ? normaliseDomain(text.slice(at + 1)) : undefined;
  // RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
  if (!domain || local.length === 0 || local.length > 64 || /[\s<>]/.test(local)) {
    return { problem: `"${text}" is not an address such as support@example.com` };
  }
  return { scope: `${local.toLowerCase()}@${domain}` };
}

/** The scopes that may claim an address, most specific first: the address itself, then its domain. */
export function scopesFor(address: string): string[] {
  const parsed = normaliseScope('address', address);
  if ('problem' in parsed) return [];
  const domain = parsed.scope.slice(parsed.scope.lastIndexOf('@') + 1);
  return [parsed.scope, domain];
}
