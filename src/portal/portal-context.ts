import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Look, lookFor } from './page-look.js';
import { errorPage, lockedPage } from './pages.js';
import type { PortalDeps } from './portal-deps.js';
import { findSession, type PortalSession } from './portal-session.js';
import { type PortalAccess, portalAccess } from './recipient-access.js';

export type Open = Extract<PortalAccess, { kind: 'open' }> & { look: Look };
export type TokenParams = { token: string };

/** The page's own policy: nothing loads but its inline style, its own frame and images (the logo, data: images); forms post only here. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";
/** The message frame's policy: a sandbox even if loaded on its own, no fetches but data: images, framed only by the portal. */
export const CONTENT_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

/** The link as it stands now, with the look of its pages, or its error page sent (in the message's language and branding when it is known). */
export async function openLink(deps: PortalDeps, request: FastifyRequest<{ Params: TokenParams }>, reply: FastifyReply): Promise<Open | undefined> {
  const access = await portalAccess(deps.stores.links, request.params.token, deps.clock.now());
  const look = await lookFor(deps.branding, request, reply, 'message' in access ? access.message : undefined);
  if (access.kind === 'open') return { ...access, look };
  if (access.kind === 'unknown') sendPage(reply, 404, errorPage(look, 'error.unknownLink.title', 'error.unknownLink.text'));
  else if (access.kind === 'locked') sendPage(reply, 423, lockedPage(look, access.sender));
  else if (access.kind === 'withdrawn') sendPage(reply, 410, errorPage(look, 'error.withdrawn.title', 'error.withdrawn.text'));
  else if (access.kind === 'deleted') sendPage(reply, 410, errorPage(look, 'error.deleted.title', 'error.deleted.text'));
  else sendPage(reply, 410, errorPage(look, 'error.expired.title', 'error.expired.text'));
  return undefined;
}

/** The session only if it was opened for this very recipient: a session for one link never opens another. */
export async function sessionFor(deps: PortalDeps, request: FastifyRequest, open: Open): Promise<PortalSession | undefined> {
  const session = await findSession(deps.stores.sessions, request.headers.cookie, deps.clock.now());
  return session?.recipientId === open.recipient.id ? session : undefined;
}

export function signInAgain(reply: FastifyReply, look: Look, token: string): FastifyReply {
  return sendPage(reply, 403, errorPage(look, 'error.signInAgain.title', 'error.signInAgain.text', { href: `/m/${token}`, label: 'error.signInAgain.back' }));
}

export function forbiddenForm(reply: FastifyReply, look: Look): FastifyReply {
  return sendPage(reply, 403, errorPage(look, 'error.form.title', 'error.form.text'));
}
