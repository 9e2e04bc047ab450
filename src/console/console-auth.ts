import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../directory/context.js';
import { csrfToken, csrfValid } from '../web/csrf.js';
import { html } from '../web/html.js';
import type { Admin } from './admin-accounts.js';
import type { ConsoleDeps } from './console-deps.js';
import type { ConsoleSession } from './console-session.js';
import { layout } from './layout.js';

/** Who is signed in on this request, with what every form of the page must carry. */
export interface Signed {
  admin: Admin;
  session: ConsoleSession;
  csrf: string;
  /** The audit log's name for what this administrator does: the same rules as the API, their name on every record. */
  actor: Actor;
}

const scope = (session: ConsoleSession) => `console-session:${session.id}`;

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

/**
 * The administrator of a live session, or a redirect to sign-in (sent). One whose password is
 * still the one-time password may only change it. A POST must carry the session's CSRF token.
 */
export async function signedIn(
  deps: ConsoleDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { passwordChange?: boolean } = {},
): Promise<Signed | undefined> {
  const session = await deps.sessions.find(request.headers.cookie, deps.clock.now());
  const admin = session ? await deps.accounts.get(session.adminId) : undefined;
  if (!session || !admin || admin.disabled) {
    const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
    void reply.redirect(`/console/sign-in${next}`, 303);
    return undefined;
  }
  if (admin.mustChangePassword && !options.passwordChange) {
    void reply.redirect('/console/password', 303);
    return undefined;
  }
  if (request.method === 'POST' && !csrfValid(deps.hashKey, scope(session), (request.body as Record<string, unknown> | undefined)?.csrf)) {
    refusedForm(deps, request, `admin:${admin.email}`, 'missing or invalid form token');
    forbidden(reply);
    return undefined;
  }
  return { admin, session, csrf: csrfToken(deps.hashKey, scope(session)), actor: { name: `admin:${admin.email}`, ip: request.ip } };
}

/** A refused console form into the audit log (coalesced): who, if known, from where, on which route; never the form's content. */
export function refusedForm(deps: Pick<ConsoleDeps, 'services'>, request: FastifyRequest, actor: string, reason: string): void {
  deps.services.denials.record({
    action: 'form.refused',
    actor,
    ip: request.ip,
    reason,
    detail: { surface: 'console', route: request.routeOptions.url ?? 'unknown route' },
  });
}

export function forbidden(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    403,
    layout({
      title: 'Form not accepted',
      body: html`<p>This form did not come from this console or has expired. Go back, reload the page and try again.</p>`,
    }),
  );
}
