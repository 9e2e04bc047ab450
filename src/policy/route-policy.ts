import type { DirectoryContext } from '../directory/context.js';
import { loadRouteTable, routeName } from '../directory/routes.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { SmtpReply } from '../model/smtp-reply.js';
import { decideRoute, type RouteDecision } from './route-match.js';
import type { SenderPolicy } from './sender-policy.js';

/**
 * What the routes say of a sender at MAIL FROM: `reject` refuses; `relay` and `secure` let it
 * through (a secure sender's message becomes a secure message at DATA, see secureRouting).
 * Refusing at MAIL FROM (RFC 5321 §3.3) tells the application before it sends the body.
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
    case 'secure':
      return undefined;
    case 'reject':
      return SmtpReply.senderRouteRejected(routeName(decision.source === 'rule' ? decision.rule : null));
  }
}

/** What a secure message needs of its organisation's settings. */
export interface SecureRouting {
  organisationId: string;
  retentionMs: number;
}

/**
 * Asked again at DATA rather than remembered from MAIL FROM: a route changed in between
 * applies to the message, and an answer of `secure` is never lost with a session's state.
 */
export async function secureRoutingOf(ctx: Pick<DirectoryContext, 'db'>, credentialId: string, mailFrom: string): Promise<SecureRouting | undefined> {
  const organisationId = await organisationOf(ctx, credentialId);
  const table = await loadRouteTable(ctx.db, organisationId);
  if (decideRoute(table.rules, table.defaultAction, mailFrom).action !== 'secure') return undefined;
  const org = await ctx.db.selectFrom('organisations').select('secure_retention_days').where('id', '=', organisationId).executeTakeFirst();
  return { organisationId, retentionMs: (org?.secure_retention_days ?? 90) * 86_400_000 };
}

/** The routes of the credential's organisation; the default organisation's when there is none. */
async function organisationOf(ctx: Pick<DirectoryContext, 'db'>, credentialId: string): Promise<string> {
  if (!credentialId) return DEFAULT_ORGANISATION_ID;
  const row = await ctx.db.selectFrom('credentials').select('organisation_id').where('id', '=', credentialId).executeTakeFirst();
  return row?.organisation_id ?? DEFAULT_ORGANISATION_ID;
}
