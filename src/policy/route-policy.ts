import { SmtpReply } from '../model/smtp-reply.js';
import { decideRoute, type RouteAction, type RouteRule, routeName } from './route-match.js';

/**
 * The route tables the decision reads: src/directory implements them (route-lookup.ts), and
 * src/app hands them in.
 */
export interface RouteTables {
  /** The organisation whose routes apply to a credential: the default organisation's when there is none ('') or it is unknown. */
  organisationOf(credentialId: string): Promise<string>;
  /** The organisation's rules in order, with its default action. */
  tableOf(organisationId: string): Promise<{ rules: readonly RouteRule[]; defaultAction: RouteAction }>;
}

/** Who a transaction relays as, as far as its route is concerned. */
export interface RoutedPrincipal {
  kind: 'submission' | 'inbound';
  credentialId: string;
}

/**
 * Which way a transaction's message goes: `inbound` for the organisation's servers (and
 * clients without AUTH, on inbound.allowUnauthenticated); a submission as its envelope sender's
 * route says, `secure` naming the organisation whose settings the secure message takes.
 */
export type RouteClass = { kind: 'inbound' } | { kind: 'relay' } | { kind: 'secure'; organisationId: string } | { kind: 'reject'; refusal: SmtpReply };

/**
 * The one decision of a transaction's route, taken at MAIL FROM (where `reject` is refused,
 * RFC 5321 §3.3: the application hears it before it sends the body) and again at DATA
 * (on-data.ts says why).
 */
export async function classify(tables: RouteTables, principal: RoutedPrincipal | null, mailFrom: string): Promise<RouteClass> {
  if (principal?.kind !== 'submission') return { kind: 'inbound' };
  const organisationId = await tables.organisationOf(principal.credentialId);
  const table = await tables.tableOf(organisationId);
  const decision = decideRoute(table.rules, table.defaultAction, mailFrom);
  switch (decision.action) {
    case 'relay':
      return { kind: 'relay' };
    case 'secure':
      return { kind: 'secure', organisationId };
    case 'reject':
      return { kind: 'reject', refusal: SmtpReply.senderRouteRejected(routeName(decision.source === 'rule' ? decision.rule : null)) };
  }
}
