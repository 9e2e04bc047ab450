/**
 * Which route applies to an envelope sender: pure decisions, no I/O (table-tested in
 * test/routes.test.ts). A route names the sender's domain exactly (`secure.example.com`) or
 * every domain below one (`*.example.com`); the rules are tried in order and the first match
 * wins, else the organisation's default action applies.
 */

export const ROUTE_ACTIONS = ['secure', 'relay', 'reject'] as const;
export type RouteAction = (typeof ROUTE_ACTIONS)[number];

export interface RouteRule {
  id: string;
  /** 1 is tried first. */
  position: number;
  match: string;
  action: RouteAction;
}

export type RouteDecision = { source: 'rule'; action: RouteAction; rule: RouteRule } | { source: 'default'; action: RouteAction };

export const isRouteAction = (value: string): value is RouteAction => (ROUTE_ACTIONS as readonly string[]).includes(value);

/** RFC 1035 §2.3.4 / RFC 5321 §4.5.3.1.2: labels of at most 63 octets, a name of at most 253 (without the root dot). */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_DOMAIN_LENGTH = 253;

/** A domain name as routes and connections compare it: lower case, no trailing root dot; undefined when it is not one. */
export function normaliseDomain(text: string): string | undefined {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > MAX_DOMAIN_LENGTH) return undefined;
  return name.split('.').every((label) => LABEL.test(label)) ? name : undefined;
}

/** A route's match as stored, or the problem with it, said so that it can be shown to the operator. */
export function normaliseRouteMatch(text: string): { match: string } | { problem: string } {
  const trimmed = text.trim().toLowerCase();
  const wildcard = trimmed.startsWith('*.');
  const domain = normaliseDomain(wildcard ? trimmed.slice(2) : trimmed);
  if (domain === undefined || domain.includes('*')) {
    return { problem: `"${text}" is not a domain (secure.example.com) or a subdomain wildcard (*.example.com)` };
  }
  return { match: wildcard ? `*.${domain}` : domain };
}

/**
 * The domain of an envelope sender, lower case (RFC 5321 §2.4: domains are case-insensitive);
 * undefined for the null sender `<>` and for an address literal, which no route can name.
 */
export function senderDomain(mailFrom: string): string | undefined {
  const at = mailFrom.lastIndexOf('@');
  if (at < 0) return undefined;
  return normaliseDomain(mailFrom.slice(at + 1));
}

/** `*.example.com` matches every name below example.com (a.example.com, a.b.example.com) but not example.com itself. */
export function routeMatches(match: string, domain: string): boolean {
  if (match.startsWith('*.')) return domain.endsWith(match.slice(1));
  return domain === match;
}

/**
 * First match wins; a sender no rule names (including the null sender, which has no domain)
 * gets the default action.
 */
export function decideRoute(rules: readonly RouteRule[], defaultAction: RouteAction, mailFrom: string): RouteDecision {
  const domain = senderDomain(mailFrom);
  if (domain !== undefined) {
    const ordered = [...rules].sort((a, b) => a.position - b.position);
    const rule = ordered.find((r) => routeMatches(r.match, domain));
    if (rule) return { source: 'rule', action: rule.action, rule };
  }
  return { source: 'default', action: defaultAction };
}

/** How a refusal names the route, in SMTP replies and in `route test`. */
export function routeName(rule: Pick<RouteRule, 'id' | 'match'> | null): string {
  return rule ? `route ${rule.id} (${rule.match})` : 'the default route';
}
