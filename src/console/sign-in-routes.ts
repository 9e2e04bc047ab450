import type { FastifyInstance } from 'fastify';
import { DirectoryError } from '../directory/errors.js';
import { authThrottle } from '../smtp/auth-throttle.js';
import { csrfToken, csrfValid } from '../web/csrf.js';
import { html } from '../web/html.js';
import { MIN_PASSWORD_LENGTH } from './admin-accounts.js';
import { forbidden, sendPage, signedIn } from './console-auth.js';
import { type ConsoleDeps, HIDDEN } from './console-deps.js';
import { consoleCookie } from './console-session.js';
import { csrfField, layout } from './layout.js';

type Form = Record<string, string | undefined>;

/** Before sign-in the form's token is bound to nothing secret; the Origin check and SameSite carry the weight, and this stops blind posts. */
const SIGN_IN_SCOPE = 'console-sign-in';
/** Per client address, on top of the per-account lockout: one address cannot try many accounts quickly. */
const FAILURES_PER_IP = 20;

/** Sign-in, sign-out and the password change that a one-time password requires. */
export function registerSignIn(app: FastifyInstance, deps: ConsoleDeps): void {
  // Counted in the store on PostgreSQL, so every instance serving the console sees the same failures.
  const throttle = authThrottle(deps.db, 'console-sign-in-ip', FAILURES_PER_IP, 15 * 60_000, deps.clock);

  app.get<{ Querystring: { next?: string } }>('/sign-in', HIDDEN, async (request, reply) => {
    const next = safeNext(request.query.next);
    return sendPage(reply, 200, pageFor(next));
  });

  function pageFor(next: string, error?: string): string {
    return layout({
      title: 'Sign in',
      flash: error ? { kind: 'error', text: error } : undefined,
      body: html`<form method="post" action="/console/sign-in" class="card">
${csrfField(csrfToken(deps.hashKey, SIGN_IN_SCOPE))}<input type="hidden" name="next" value="${next}">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p></form>
<p class="muted">No account yet? On the gateway's host: <code>relaygate admin create you@example.com</code></p>`,
    });
  }
  app.post<{ Body: Form }>('/sign-in', HIDDEN, async (request, reply) => {
    const body = request.body ?? {};
    if (!csrfValid(deps.hashKey, SIGN_IN_SCOPE, body.csrf)) return forbidden(reply);
    const next = safeNext(body.next);
    if (await throttle.isBlocked(request.ip)) {
      deps.log.warn({ ip: request.ip, event: 'console.sign-in.throttled' }, 'console sign-in throttled');
      return sendPage(reply, 429, pageFor(next, 'Too many failed sign-ins from this address. Wait a few minutes and try again.'));
    }
    const result = await deps.accounts.signIn(body.email ?? '', body.password ?? '', request.ip);
    if (!result.ok) {
      await throttle.recordFailure(request.ip);
      deps.log.warn({ ip: request.ip, email: body.email, reason: result.reason, event: 'console.sign-in.failed' }, 'console sign-in failed');
      // The same words whatever went wrong: a guesser learns nothing about which accounts exist.
      const text =
        result.reason === 'locked'
          ? 'This account is locked for a while after repeated failed sign-ins. Try again later, or ask another administrator to reset it (relaygate admin reset-password).'
          : 'The email or the password is not right.';
      return sendPage(reply, 401, pageFor(next, text));
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
