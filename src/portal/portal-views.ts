import type { FastifyInstance, FastifyReply } from 'fastify';
import { gatewayRecord } from '../inbound/gateway-record.js';
import type { UnlockedMessage } from '../secure/vault.js';
import { csrfToken } from '../web/csrf.js';
import { raw } from '../web/html.js';
import { sessionScope, tokenScope } from './csrf.js';
import { queuePortalMail } from './mail-queue.js';
import { attachmentDisposition, downloadType, showMessage } from './message-view.js';
import { codeState } from './one-time-code.js';
import { contentDocument, errorPage, type LandingView, landingPage, messagePage, replySentPage } from './pages.js';
import { CONTENT_CSP, type Open, openLink, sendPage, sessionFor, type TokenParams } from './portal-context.js';
import { HIDDEN, type PortalDeps } from './portal-deps.js';
import type { PortalSession } from './portal-session.js';
import { maskAddress } from './recipient-access.js';
import { readReceiptMail } from './reply-mail.js';

/** The pages a recipient reads: the landing page until the address is proved, then the message, its frame and its files. */
export function registerPortalViews(portal: FastifyInstance, deps: PortalDeps): void {
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
    if (!(await sessionFor(deps, request, open))) return sendPage(reply, 403, errorPage('Not signed in', 'Open the message link and enter a code first.'));
    const message = await showMessage(await deps.vault.unlock(open.message.id));
    reply.header('content-security-policy', CONTENT_CSP).header('x-frame-options', 'SAMEORIGIN').header('referrer-policy', 'no-referrer');
    return sendPage(reply, 200, contentDocument(raw(message.html ?? '')));
  });

  portal.get<{ Params: TokenParams & { n: string } }>('/:token/attachments/:n', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    if (!(await sessionFor(deps, request, open))) return sendPage(reply, 403, errorPage('Not signed in', 'Open the message link and enter a code first.'));
    const message = await showMessage(await deps.vault.unlock(open.message.id));
    const attachment = /^\d{1,4}$/.test(request.params.n) ? message.attachments.find((a) => a.index === Number(request.params.n)) : undefined;
    if (!attachment) return sendPage(reply, 404, errorPage('No such attachment', 'This message has no attachment at that address.'));
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
    return sendPage(reply, 200, replySentPage(request.params.token));
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
  return sendPage(
    reply,
    status,
    landingPage({
      token: token.token,
      csrf: csrfToken(deps.hashKey, tokenScope(token.token)),
      senderName: unlocked.meta.fromName,
      senderAddress: unlocked.meta.fromAddress,
      maskedRecipient: maskAddress(open.recipient.address),
      codeState: codeState(open.recipient, deps.clock.now()),
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
  return messagePage({
    token,
    csrf: csrfToken(deps.hashKey, sessionScope(session.id)),
    recipient: open.recipient.address,
    message: await showMessage(unlocked),
    repliedAt: open.recipient.replied_at,
    problem,
    maxAttachments: deps.maxReplyAttachments,
  });
}

/** The first view sets the sender's "opened" status and, if the organisation wants it, writes a read receipt. */
async function markOpened(deps: PortalDeps, open: Open, unlocked: UnlockedMessage): Promise<void> {
  if (open.recipient.opened_at !== null) return;
  const now = deps.clock.now();
  const first = await deps.db
    .updateTable('secure_recipients')
    .set({ opened_at: now })
    .where('id', '=', open.recipient.id)
    .where('opened_at', 'is', null)
    .executeTakeFirst();
  if (Number(first.numUpdatedRows) !== 1) return;
  const org = await deps.db.selectFrom('organisations').select('read_receipts').where('id', '=', open.message.organisation_id).executeTakeFirst();
  if (org?.read_receipts !== 1) return;
  const sender = open.message.sender;
  const body = await readReceiptMail({ meta: unlocked.meta, recipient: open.recipient.address, sender, hostname: deps.hostname, now });
  const envelope = { mailFrom: '', recipients: [sender] };
  // The recipient still reads the message if the receipt cannot be stored; the sender sees "opened" in the status.
  await queuePortalMail(deps.queue, {
    body,
    envelope: { mailFrom: '', recipients: [{ address: sender }] },
    direction: 'inbound',
    inbound: gatewayRecord({ kind: 'read-receipt', hostname: deps.hostname, envelope, body }),
    clientIp: '127.0.0.1',
    now,
  }).catch((err: unknown) => deps.log.error({ err, recipient: open.recipient.id }, 'could not queue the read receipt'));
}
