import type { DirectoryContext } from '../directory/context.js';
import { loadRouteTable, routeName } from '../directory/routes.js';
import { SmtpReply } from '../smtp/reply.js';
import { DEFAULT_ORGANISATION_ID } from '../store/migrations/0002-directory.js';
import { decideRoute, type RouteDecision } from './route-match.js';
import type { SenderPolicy } from './sender-policy.js';

/**
 * What the routes say of a sender at MAIL FROM: `reject` refuses, `relay` lets it through,
 * and `secure` refuses too until secure messages exist (issue 6) — mail an operator wants
 * protected must never leave in the clear because the feature is missing. Refusing at
 * MAIL FROM (RFC 5321 §3.3) tells the application before it sends the body.
 */
export function routePolicy(ctx: Pick<DirectoryContext, 'db'>): SenderPolicy {
  const { db } = ctx;
  return {
    async checkMailFrom(credentialId, mailFrom) {
      const organisationId = await organisationOf(ctx, credentialId);
      const table = await loadRouteTable(db, organisationId);
      return objectionTo(decideRoute(table.rules, table.defaultAction, mailFrom));
    },
    // Routes are on the envelope sender only; the header From is the sender authorization's concern.
    checkHeaderFrom: async () => undefined,
  };
}

export function objectionTo(decision: RouteDecision): SmtpReply | undefined {
  switch (decision.action) {
    case 'relay':
      return undefined;
    case 'reject':
      return SmtpReply.senderRouteRejected(routeName(decision.source === 'rule' ? decision.rule : null));
    case 'secure':
      return SmtpReply.secureDeliveryUnavailable();
  }
}

/** The routes of the credential's organisation; the default organisation's when there is none. */
async function organisationOf(ctx: Pick<DirectoryContext, 'db'>, credentialId: string): Promise<string> {
  if (!credentialId) return DEFAULT_ORGANISATION_ID;
  const row = await ctx.db.selectFrom('credentials').select('organisation_id').where('id', '=', credentialId).executeTakeFirst();
  return row?.organisation_id ?? DEFAULT_ORGANISATION_ID;
}
