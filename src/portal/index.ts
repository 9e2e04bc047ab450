import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance } from 'fastify';
import { originAllowed } from '../web/csrf.js';
import { errorPage } from './pages.js';
import { registerPortalActions } from './portal-actions.js';
import { forbiddenForm, PAGE_CSP, sendPage } from './portal-context.js';
import type { PortalDeps } from './portal-deps.js';
import { registerPortalViews } from './portal-views.js';

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
        reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-store');
        return payload;
      });
      portal.addHook('preHandler', async (request, reply) => {
        if (request.method === 'POST' && !originAllowed(request.headers.origin, request.headers.host, deps.publicUrl())) return forbiddenForm(reply);
      });
      portal.setNotFoundHandler((_request, reply) => sendPage(reply, 404, errorPage('Page not found', 'There is nothing at this address.')));
      portal.setErrorHandler((error: FastifyError, request, reply) => {
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) deps.log.error({ err: error, url: request.url }, 'portal request failed');
        const text =
          status === 413
            ? 'What you sent is too large. Send fewer or smaller attachments.'
            : status === 500
              ? 'Something went wrong on our side. Please try again in a moment.'
              : 'The request could not be understood. Go back, reload the page and try again.';
        return sendPage(reply, status, errorPage(status === 500 ? 'Something went wrong' : 'Request not accepted', text));
      });
      registerPortalViews(portal, deps);
      registerPortalActions(portal, deps);
    },
    { prefix: '/m' },
  );
}
