import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance } from 'fastify';
import { originAllowed } from '../web/csrf.js';
import { browserOnPlainHttp } from '../web/plain-http.js';
import { lookFor } from './page-look.js';
import { errorPage, notFoundPage, plainHttpPage, tooManyRequestsPage } from './pages.js';
import { registerPortalActions } from './portal-actions.js';
import { forbiddenForm, PAGE_CSP, sendPage } from './portal-context.js';
import type { PortalDeps } from './portal-deps.js';
import { registerPortalViews } from './portal-views.js';
import { portalAdmission } from './request-limits.js';

/** The posts that sign in: over plain HTTP their cookie would be dropped, so they are answered with why. */
const SIGN_IN_ROUTES = /\/:token\/(code|verify)$/;

export type { PortalMailQueue } from './mail-queue.js';
export type { PortalDeps } from './portal-deps.js';

/**
 * The recipient portal under /m: server-rendered pages that work without JavaScript. Its
 * body parsers, error pages and security headers live in its own encapsulated plugin, so the
 * admin API keeps its JSON-only parsing and problem+json errors.
 */
export function registerPortal(app: FastifyInstance, deps: PortalDeps): void {
  app.register(
    async (portal) => {
      await portal.register(formbody, { bodyLimit: 16 * 1024 });
      await portal.register(multipart, {
        throwFileSizeLimit: true,
        limits: { files: deps.maxReplyAttachments, fileSize: deps.maxMessageBytes, fields: 4, fieldSize: 256 * 1024, parts: deps.maxReplyAttachments + 4 },
      });
      portal.addHook('onSend', async (_request, reply, payload) => {
        if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP).header('x-frame-options', 'DENY');
        // same-origin, not no-referrer: the link (its token) still never leaves this origin, but
        // Chromium sends `Origin: null` with forms of a no-referrer page, which the Origin check must refuse.
        if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'same-origin');
        reply.header('x-content-type-options', 'nosniff');
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      const admission = portalAdmission(deps.stores.counters);
      // Before any body is read: a flood costs one counter check per request.
      portal.addHook('onRequest', async (request, reply) => {
        const waitSeconds = await admission(request);
        if (waitSeconds !== undefined)
          return sendPage(
            reply.header('retry-after', String(waitSeconds)),
            429,
            tooManyRequestsPage(await lookFor(deps.branding, request, reply), waitSeconds),
          );
      });
      portal.addHook('preHandler', async (request, reply) => {
        if (request.method !== 'POST') return;
        if (!originAllowed(request.headers.origin, request.headers.host, deps.publicUrl()))
          return forbiddenForm(reply, await lookFor(deps.branding, request, reply));
        if (SIGN_IN_ROUTES.test(request.routeOptions.url ?? '') && browserOnPlainHttp(request.headers, deps.publicUrl()))
          return sendPage(reply, 403, plainHttpPage(await lookFor(deps.branding, request, reply)));
      });
      portal.setNotFoundHandler(async (request, reply) => sendPage(reply, 404, notFoundPage(await lookFor(deps.branding, request, reply))));
      portal.setErrorHandler(async (error: FastifyError, request, reply) => {
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) deps.log.error({ err: error, url: request.url }, 'portal request failed');
        const text = status === 413 ? 'error.tooLarge.text' : status === 500 ? 'error.server.text' : 'error.request.text';
        // The store may be what failed: then the page is drawn without the organisation's branding.
        const look = await lookFor(deps.branding, request, reply).catch(() => undefined);
        const page = look
          ? errorPage(look, status === 500 ? 'error.server.title' : 'error.request.title', text)
          : 'Something went wrong. Please try again in a moment.';
        return sendPage(reply, status, page);
      });
      registerPortalViews(portal, deps);
      registerPortalActions(portal, deps);
    },
    { prefix: '/m' },
  );
}
