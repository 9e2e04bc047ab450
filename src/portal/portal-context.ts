import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorPage } from './pages.js';
import type { PortalDeps } from './portal-deps.js';
import { findSession, type PortalSession } from './portal-session.js';
import { type PortalAccess, portalAccess } from './recipient-access.js';

export type Open = Extract<PortalAccess, { kind: 'open' }>;
export type TokenParams = { token: string };

/** The page's own policy: nothing loads but its inline style, its own frame and data: images; forms post only here. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";
/** The message frame's policy: a sandbox even if loaded on its own, no fetches but data: images, framed only by the portal. */
export const CONTENT_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

/** The link as it stands now, or its error page sent. */
export async function openLink(deps: PortalDeps, request: FastifyRequest<{ Params: TokenParams }>, reply: FastifyReply): Promise<Open | undefined> {
  const access = await portalAccess(deps.db, request.params.token, deps.clock.now());
  if (access.kind === 'open') return access;
  if (access.kind === 'unknown')
    sendPage(reply, 404, errorPage('Link not found', 'This link does not lead to a message. Check that it was copied completely.'));
  else if (access.kind === 'withdrawn') sendPage(reply, 410, errorPage('Access withdrawn', 'The sender has withdrawn access to this message.'));
  else sendPage(reply, 410, errorPage('Message expired', 'This message has expired and can no longer be read.'));
  return undefined;
}

/** The session only if it was opened for this very recipient: a session for one link never opens another. */
export async function sessionFor(deps: PortalDeps, request: FastifyRequest, open: Open): Promise<PortalSession | undefined> {
  const session = await findSession(deps.db, request.headers.cookie, deps.clock.now());
  return session?.recipientId === open.recipient.id ? session : undefined;
}

export function signInAgain(reply: FastifyReply, token: string): FastifyReply {
  return sendPage(
    reply,
    403,
    errorPage('Please sign in again', 'Your session has ended: ask for a new code to go on.', { href: `/m/${token}`, label: 'Back to the message' }),
  );
}

export function forbiddenForm(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 403, errorPage('Form not accepted', 'This form did not come from this page or has expired. Go back, reload the page and try again.'));
}
