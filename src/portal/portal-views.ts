import type { FastifyInstance, FastifyReply } from 'fastify';
import { mailLocale } from '../i18n/index.js';
import { gatewayRecord } from '../inbound/gateway-record.js';
import { LOGO_CSP } from '../secure/brand-logo.js';
import type { UnlockedMessage } from '../secure/vault.js';
import { csrfToken } from '../web/csrf.js';
import { raw } from '../web/html.js';
import { browserOnPlainHttp } from '../web/plain-http.js';
import { sessionScope, tokenScope } from './csrf.js';
import { queuePortalMail } from './mail-queue.js';
import { attachmentDisposition, downloadType, showMessage } from './message-view.js';
import { CODE_LIFETIME_MS, codeState } from './one-time-code.js';
import { contentDocument, errorPage, type LandingView, landingPage, messagePage, plainHttpPage, replySentPage } from './pages.js';
import { CONTENT_CSP, type Open, openLink, sendPage, sessionFor, type TokenParams } from './portal-context.js';
import { HIDDEN, type PortalDeps } from './portal-deps.js';
import { portalThread } from './portal-replies.js';
import type { PortalSession } from './portal-session.js';
import { maskAddress } from './recipient-access.js';
import { readReceiptMail } from './reply-mail.js';

/** A logo's URL carries its digest, so it may be cached for a year: a new logo is a new URL. */
const LOGO_CACHE = 'public, max-age=31536000, immutable';

/** The pages a recipient reads: the landing page until the address is proved, then the message, its frame and its files; and the organisation's logo. */
export function registerPortalViews(portal: FastifyInstance, deps: PortalDeps): void {
  portal.get<{ Params: { organisation: string } }>('/brand/:organisation/logo', HIDDEN, async (request, reply) => {
    const brand = /^[A-Za-z0-9_-]{1,64}$/.test(request.params.organisation) ? await deps.branding(request.params.organisation) : undefined;
    if (!brand?.logo) return reply.code(404).type('text/plain; charset=utf-8').send('no logo');
    return reply
      .code(200)
      .header('content-type', brand.logo.type)
      .header('content-security-policy', LOGO_CSP)
      .header('cache-control', LOGO_CACHE)
      .header('cross-origin-resource-policy', 'same-origin')
      .send(brand.logo.content);
  });

  portal.get<{ Params: TokenParams }>('/:token', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    const unlocked = await deps.vault.unlock(open.message.id);
    const session = await sessionFor(deps, request, open);
    if (!session) return sendLanding(deps, reply, open, unlocked, 200);
    await markOpened(deps, open, unlocked);
    return sendPage(reply, 200, await renderMessage(deps, request.params.token, open, unlocked, session));
  });

  portal.get<{ Params: TokenParams }>('/:token/content', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    if (!(await sessionFor(deps, request, open))) return sendPage(reply, 403, errorPage(open.look, 'error.notSignedIn.title', 'error.notSignedIn.text'));
    const message = await showMessage(await deps.vault.unlock(open.message.id));
    reply.header('content-security-policy', CONTENT_CSP).header('x-frame-options', 'SAMEORIGIN').header('referrer-policy', 'no-referrer');
    return sendPage(reply, 200, contentDocument(raw(message.html ?? '')));
  });

  portal.get<{ Params: TokenParams & { n: string } }>('/:token/attachments/:n', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    if (!(await sessionFor(deps, request, open))) return sendPage(reply, 403, errorPage(open.look, 'error.notSignedIn.title', 'error.notSignedIn.text'));
    const message = await showMessage(await deps.vault.unlock(open.message.id));
    const attachment = /^\d{1,4}$/.test(request.params.n) ? message.attachments.find((a) => a.index === Number(request.params.n)) : undefined;
    if (!attachment) return sendPage(reply, 404, errorPage(open.look, 'error.noAttachment.title', 'error.noAttachment.text'));
    return reply
      .code(200)
      .header('content-type', downloadType(attachment.contentType))
      .header('content-disposition', attachmentDisposition(attachment.filename))
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('referrer-policy', 'no-referrer')
      .send(attachment.content);
  });

  portal.get<{ Params: TokenParams }>('/:token/sent', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    return sendPage(reply, 200, replySentPage(open.look, request.params.token));
  });
}

export function sendLanding(
  deps: PortalDeps,
  reply: FastifyReply,
  open: Open,
  unlocked: UnlockedMessage,
  status: number,
  problem?: LandingView['problem'],
): FastifyReply {
  const token = reply.request.params as TokenParams;
  if (browserOnPlainHttp(reply.request.headers, deps.publicUrl())) return sendPage(reply, status, plainHttpPage(open.look));
  return sendPage(
    reply,
    status,
    landingPage(open.look, {
      token: token.token,
      csrf: csrfToken(deps.hashKey, tokenScope(token.token)),
      senderName: unlocked.meta.fromName,
      senderAddress: unlocked.meta.fromAddress,
      maskedRecipient: maskAddress(open.recipient.address),
      codeState: codeState(open.recipient, deps.clock.now()),
      codeMinutes: CODE_LIFETIME_MS / 60_000,
      problem,
    }),
  );
}

export async function renderMessage(
  deps: PortalDeps,
  token: string,
  open: Open,
  unlocked: UnlockedMessage,
  session: PortalSession,
  problem?: string,
): Promise<string> {
  return messagePage(open.look, {
    token,
    csrf: csrfToken(deps.hashKey, sessionScope(session.id)),
    recipient: open.recipient.address,
    message: await showMessage(unlocked),
    thread: await portalThread(deps.stores.links, unlocked, open.recipient.id),
    problem,
    maxAttachments: deps.maxReplyAttachments,
  });
}

/** The first view sets the sender's "opened" status and, if the organisation wants it, writes a read receipt. */
async function markOpened(deps: PortalDeps, open: Open, unlocked: UnlockedMessage): Promise<void> {
  if (open.recipient.openedAt !== null) return;
  const now = deps.clock.now();
  if (!(await deps.stores.links.markOpened(open.recipient.id, now))) return;
  const org = await deps.stores.links.readReceipts(open.message.organisationId);
  if (!org?.enabled) return;
  const sender = open.message.sender;
  const locale = mailLocale(open.message.language, open.look.brand.locale);
  const body = await readReceiptMail({
    meta: unlocked.meta,
    recipient: open.recipient.address,
    sender,
    hostname: deps.hostname,
    now,
    locale,
    timeZone: open.look.brand.timeZone,
    format: org.format,
  });
  const envelope = { mailFrom: '', recipients: [sender] };
  // The recipient still reads the message if the receipt cannot be stored; the sender sees "opened" in the status.
  await queuePortalMail(deps.queue, {
    body,
    envelope: { mailFrom: '', recipients: [{ address: sender }] },
    direction: 'inbound',
    inbound: gatewayRecord({ kind: 'read-receipt', hostname: deps.hostname, envelope, body }),
    clientIp: '127.0.0.1',
    now,
    answers: open.message.id,
  }).catch((err: unknown) => deps.log.error({ err, recipient: open.recipient.id }, 'could not queue the read receipt'));
}
