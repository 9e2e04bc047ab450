import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import { originAllowed } from '../web/csrf.js';
import { html } from '../web/html.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { forbidden, refusedForm, sendPage } from './console-auth.js';
import { type ConsoleDeps, HIDDEN } from './console-deps.js';
import { layout } from './layout.js';
import { registerSignIn } from './sign-in-routes.js';

export type { ConsoleDeps, SmtpEndpoints } from './console-deps.js';

/** The pages of the console, each group in its own module; they register themselves here. */
export type ConsolePages = (app: FastifyInstance, deps: ConsoleDeps) => void;

/** Scripts and styles only from the gateway; no frames, no foreign forms, no inline script. */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The administrators' web console under /console: server-rendered pages that work without
 * JavaScript, over the same services (and rules, and audit log) as the REST API. Its body
 * parser, error pages and security headers live in its own encapsulated plugin.
 */
export function registerConsole(app: FastifyInstance, deps: ConsoleDeps, pages: ConsolePages[]): void {
  app.register(
    async (console) => {
      await console.register(formbody, { bodyLimit: 64 * 1024 });
      // Every other type reaches the handlers unparsed (no body): sign-in then names the type
      // it expects (400) and the other forms fail their token check (403), never a 415 or 500.
      console.removeContentTypeParser(['application/json', 'text/plain']);
      console.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      console.addHook('onSend', async (_request, reply, payload) => {
        reply
          .header('content-security-policy', CONSOLE_CSP)
          .header('x-frame-options', 'DENY')
          .header('referrer-policy', 'same-origin')
          .header('x-content-type-options', 'nosniff');
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      console.addHook('preHandler', async (request, reply) => {
        if (request.method === 'POST' && !originAllowed(request.headers.origin, request.headers.host, deps.publicUrl())) {
          refusedForm(deps, request, 'anonymous', 'form posted from another site');
          return forbidden(reply);
        }
      });
      console.get('/assets/console.css', HIDDEN, async (_request, reply) =>
        reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(CONSOLE_CSS),
      );
      console.get('/assets/console.js', HIDDEN, async (_request, reply) =>
        reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(CONSOLE_JS),
      );
      console.setNotFoundHandler((_request, reply) =>
        sendPage(reply, 404, layout({ title: 'Page not found', body: html`<p><a href="/console">Back to the dashboard</a></p>` })),
      );
      console.setErrorHandler((error: FastifyError, request, reply) => {
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) deps.log.error({ err: error, url: request.url }, 'console request failed');
        const text =
          status === 500
            ? 'Something went wrong on the gateway; the log has the details.'
            : status === 413
              ? 'The form is larger than the console accepts (64 KiB). Go back, reload the page and try again.'
              : 'The request could not be understood. Go back, reload the page and try again.';
        return sendPage(reply, status, layout({ title: status === 500 ? 'Something went wrong' : 'Request not accepted', body: html`<p>${text}</p>` }));
      });
      registerSignIn(console, deps);
      for (const register of pages) register(console, deps);
    },
    { prefix: '/console' },
  );
}
