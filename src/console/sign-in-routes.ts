import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DirectoryError } from '../model/directory-error.js';
import { csrfToken, csrfValid } from '../web/csrf.js';
import { html } from '../web/html.js';
import { browserOnPlainHttp } from '../web/plain-http.js';
import { MIN_PASSWORD_LENGTH } from './admin-accounts.js';
import { forbidden, refusedForm, sendPage, signedIn } from './console-auth.js';
import { type ConsoleDeps, HIDDEN } from './console-deps.js';
import { consoleCookie } from './console-session.js';
import { csrfField, layout } from './layout.js';
import { readSignInForm } from './sign-in-form.js';
import { signInLocks } from './sign-in-locks.js';

type Form = Record<string, string | undefined>;

/** Before sign-in the form's token is bound to nothing secret; the Origin check and SameSite carry the weight, and this stops blind posts. */
const SIGN_IN_SCOPE = 'console-sign-in';
/** One answer for an unknown account, a wrong password, a locked or a disabled account: a guesser learns nothing about which exist. */
const NOT_SIGNED_IN =
  'The email or the password is not right. After repeated failures from one address, sign-in from it pauses for 15 minutes; another administrator can reset a password with: relaygate admin reset-password.';

/** Sign-in, sign-out and the password change that a one-time password requires. */
export function registerSignIn(app: FastifyInstance, deps: ConsoleDeps): void {
  const locks = signInLocks(deps.throttle);
  const denied = (request: FastifyRequest, reason: string, targetId: string | null = null) =>
    deps.services.denials.record({ action: 'admin.sign-in-failed', actor: 'anonymous', ip: request.ip, reason, targetType: 'admin', targetId });

  app.get<{ Querystring: { next?: string } }>('/sign-in', HIDDEN, async (request, reply) => {
    const next = safeNext(typeof request.query.next === 'string' ? request.query.next : undefined);
    return sendPage(reply, 200, pageFor(request, next));
  });

  function pageFor(request: FastifyRequest, next: string, error?: string): string {
    const plain = browserOnPlainHttp(request.headers, deps.publicUrl());
    return layout({
      title: 'Sign in',
      flash: error ? { kind: 'error', text: error } : undefined,
      body: html`${plain ? plainHttpNotice(request.hostname) : ''}<form method="post" action="/console/sign-in" class="card">
${csrfField(csrfToken(deps.hashKey, SIGN_IN_SCOPE))}<input type="hidden" name="next" value="${next}">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p></form>
<p class="muted">No account yet? On the gateway's host: <code>relaygate admin create you@example.com</code></p>`,
    });
  }

  app.post('/sign-in', HIDDEN, async (request, reply) => {
    const form = readSignInForm(request);
    if (!form.ok) return sendPage(reply, 400, pageFor(request, '/console', form.problem));
    const { email, password, csrf } = form.fields;
    const next = safeNext(form.fields.next);
    if (!csrfValid(deps.hashKey, SIGN_IN_SCOPE, csrf)) {
      refusedForm(deps, request, 'anonymous', 'missing or invalid form token');
      return forbidden(reply);
    }
    if (await locks.addressThrottled(request.ip)) {
      denied(request, 'too many failed sign-ins from this address');
      deps.log.warn({ ip: request.ip, event: 'console.sign-in.throttled' }, 'console sign-in throttled');
      return sendPage(reply, 429, pageFor(request, next, 'Too many failed sign-ins from this address. Wait a few minutes and try again.'));
    }
    const result = await deps.accounts.signIn(email, password, request.ip, locks);
    if (!result.ok) {
      // The typed name of an unknown account is not kept: it may be a password typed in the wrong field.
      const known = result.reason === 'unknown' ? null : email.trim().toLowerCase();
      const reason =
        result.reason === 'locked' ? `locked (${result.lock === 'address' ? 'this address' : 'every address but the last good one'})` : result.reason;
      denied(request, reason, known);
      deps.log.warn({ ip: request.ip, reason, event: 'console.sign-in.failed' }, 'console sign-in failed');
      return sendPage(reply, 401, pageFor(request, next, NOT_SIGNED_IN));
    }
    const session = await deps.sessions.create(result.admin.id, deps.clock.now());
    deps.log.info({ ip: request.ip, admin: result.admin.email, event: 'console.sign-in' }, 'console sign-in');
    return reply.header('set-cookie', consoleCookie(session)).redirect(result.admin.mustChangePassword ? '/console/password' : next, 303);
  });

  app.post<{ Body: Form }>('/sign-out', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply, { passwordChange: true });
    if (!signed) return reply;
    await deps.sessions.end(signed.session);
    return reply.header('set-cookie', consoleCookie(undefined)).redirect('/console/sign-in', 303);
  });

  const passwordPage = (csrf: string, mustChange: boolean, error?: string) =>
    layout({
      title: 'Change your password',
      csrf,
      flash: error ? { kind: 'error', text: error } : undefined,
      body: html`${mustChange ? html`<p>You signed in with a one-time password: choose your own before going on.</p>` : ''}
<form method="post" action="/console/password" class="card">${csrfField(csrf)}
<label for="current">Current password</label><input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="password">New password (at least ${MIN_PASSWORD_LENGTH} characters)</label><input type="password" id="password" name="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required>
<p><button type="submit">Change password</button></p></form>`,
    });

  app.get('/password', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply, { passwordChange: true });
    if (!signed) return reply;
    return sendPage(reply, 200, passwordPage(signed.csrf, signed.admin.mustChangePassword));
  });

  app.post<{ Body: Form }>('/password', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply, { passwordChange: true });
    if (!signed) return reply;
    try {
      await deps.accounts.changePassword(signed.admin.id, request.body?.current ?? '', request.body?.password ?? '', signed.actor);
    } catch (err) {
      if (err instanceof DirectoryError) return sendPage(reply, 400, passwordPage(signed.csrf, signed.admin.mustChangePassword, err.message));
      throw err;
    }
    // Every session of the account ended with the change; this one starts afresh.
    const session = await deps.sessions.create(signed.admin.id, deps.clock.now());
    return reply.header('set-cookie', consoleCookie(session)).redirect('/console', 303);
  });
}

/** Only a path inside the console: never an open redirect to another site. */
function safeNext(next: string | undefined): string {
  return next && /^\/console(\/[A-Za-z0-9._~\-/%?=&]*)?$/.test(next) && !next.startsWith('//') ? next : '/console';
}

function plainHttpNotice(host: string) {
  return html`<div class="flash error" role="alert" id="plain-http"><p><strong>Sign-in cannot work over plain HTTP here.</strong> This page was reached at <code>http://${host}</code>. The console's session cookie is marked Secure, so your browser will not keep it on a plain http:// address other than the gateway's own host, and signing in would bring you straight back to this page.</p>
<p>Reach the console over HTTPS: put the gateway behind a TLS proxy and set <code>RELAYGATE_HTTP_PUBLIC_URL</code> (http.publicUrl) to its https:// address, then open that address. On the gateway's host itself (or through an SSH tunnel to it), <code>http://127.0.0.1:PORT/console</code> works too.</p></div>`;
}
