import type { FastifyInstance } from 'fastify';
import { mailLocale, t } from '../i18n/index.js';
import { gatewayRecord } from '../inbound/gateway-record.js';
import type { UnlockedMessage } from '../secure/vault.js';
import { csrfValid } from '../web/csrf.js';
import { codeMail } from './code-mail.js';
import { sessionScope, tokenScope } from './csrf.js';
import { lockedByGuessing } from './link-lock.js';
import { queuePortalMail } from './mail-queue.js';
import { CODE_LIFETIME_MS, checkCode, issueCode } from './one-time-code.js';
import { lockedPage, signedOutPage } from './pages.js';
import { forbiddenForm, type Open, openLink, sendPage, sessionFor, signInAgain, type TokenParams } from './portal-context.js';
import { HIDDEN, type PortalDeps } from './portal-deps.js';
import { keepPortalReply } from './portal-replies.js';
import { createSession, endSession, findSession, sessionCookie } from './portal-session.js';
import { renderMessage, sendLanding } from './portal-views.js';
import { readReplyForm } from './reply-form.js';
import { replyConfirmationMail, replyMail } from './reply-mail.js';

type FormBody = Record<string, string | undefined> | undefined;

/** What a recipient does: ask for a code, prove it, reply, sign out. Each refuses a post without its CSRF token and changes nothing. */
export function registerPortalActions(portal: FastifyInstance, deps: PortalDeps): void {
  portal.post<{ Params: TokenParams; Body: FormBody }>('/:token/code', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    if (!csrfValid(deps.hashKey, tokenScope(request.params.token), request.body?.csrf)) return forbiddenForm(reply, open.look);
    const unlocked = await deps.vault.unlock(open.message.id);
    const now = deps.clock.now();
    const issued = await issueCode(deps.stores.sessions, deps.hashKey, open.recipient, now);
    if (issued.kind === 'too-soon') return sendLanding(deps, reply.header('retry-after', String(issued.waitSeconds)), open, unlocked, 429, issued);
    const body = await codeMail({
      meta: unlocked.meta,
      recipient: open.recipient.address,
      code: issued.code,
      validMinutes: CODE_LIFETIME_MS / 60_000,
      hostname: deps.hostname,
      now,
      locale: mailLocale(open.message.language, open.look.brand.locale),
    });
    // From the sending address, so it leaves on that domain's connection, DKIM-signed; no DSN: a late code is worthless.
    await queuePortalMail(deps.queue, {
      body,
      envelope: { mailFrom: open.message.sender, recipients: [{ address: open.recipient.address, notify: ['NEVER'] }] },
      direction: 'outbound',
      clientIp: request.ip,
      now,
      expiresAt: now + CODE_LIFETIME_MS,
    });
    deps.log.info({ event: 'portal.code.sent', recipient: open.recipient.id, ip: request.ip }, 'one-time code queued');
    return reply.code(303).header('location', `/m/${request.params.token}`).send();
  });

  portal.post<{ Params: TokenParams; Body: FormBody }>('/:token/verify', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    if (!csrfValid(deps.hashKey, tokenScope(request.params.token), request.body?.csrf)) return forbiddenForm(reply, open.look);
    const now = deps.clock.now();
    const checked = await checkCode(deps.stores.sessions, deps.hashKey, open.recipient, request.body?.code ?? '', now);
    if (checked.kind !== 'ok') {
      deps.log.info({ event: 'portal.code.refused', recipient: open.recipient.id, result: checked.kind, ip: request.ip }, 'one-time code refused');
      if (await lockedByGuessing(deps, open, checked, request.ip)) return sendPage(reply, 423, lockedPage(open.look, open.message.sender));
      const fresh = await openLink(deps, request, reply);
      if (!fresh) return reply;
      return sendLanding(deps, reply, fresh, await deps.vault.unlock(open.message.id), 422, checked);
    }
    const previous = await findSession(deps.stores.sessions, request.headers.cookie, now);
    if (previous) await endSession(deps.stores.sessions, previous);
    const session = await createSession(deps.stores.sessions, open.recipient.id, now);
    deps.log.info({ event: 'portal.signed-in', recipient: open.recipient.id, ip: request.ip }, 'recipient proved the address');
    return reply.code(303).header('set-cookie', sessionCookie(session)).header('location', `/m/${request.params.token}`).send();
  });

  portal.post<{ Params: TokenParams }>('/:token/reply', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    const session = await sessionFor(deps, request, open);
    if (!session) return signInAgain(reply, open.look, request.params.token);
    if (!request.isMultipart()) return forbiddenForm(reply, open.look);
    const form = await readReplyForm(request, {
      csrfOk: (value) => csrfValid(deps.hashKey, sessionScope(session.id), value),
      maxBytes: deps.maxMessageBytes,
      maxFiles: deps.maxReplyAttachments,
    });
    if (form.kind === 'csrf') return forbiddenForm(reply, open.look);
    const unlocked = await deps.vault.unlock(open.message.id);
    if (form.kind === 'invalid')
      return sendPage(
        reply,
        422,
        await renderMessage(deps, request.params.token, open, unlocked, session, t(open.look.locale, form.problem.key, form.problem.params)),
      );
    const now = deps.clock.now();
    const sender = open.message.sender;
    const recipient = open.recipient.address;
    const body = await replyMail({ meta: unlocked.meta, recipient, sender, text: form.text, attachments: form.attachments, hostname: deps.hostname, now });
    const envelope = { mailFrom: recipient, recipients: [sender] };
    await queuePortalMail(deps.queue, {
      body,
      envelope: { mailFrom: recipient, recipients: [{ address: sender }] },
      direction: 'inbound',
      inbound: gatewayRecord({ kind: 'secure-reply', hostname: deps.hostname, envelope, body, provedAddress: recipient, clientIp: request.ip }),
      clientIp: request.ip,
      now,
      answers: open.message.id,
    });
    await deps.stores.links.markReplied(open.recipient.id, now);
    await keepPortalReply(deps.stores.links, unlocked, open.recipient.id, { text: form.text, files: form.attachments.map((a) => a.filename), now });
    await confirmReply(deps, open, unlocked, { ip: request.ip, now });
    deps.log.info({ event: 'portal.replied', recipient: open.recipient.id, attachments: form.attachments.length, ip: request.ip }, 'secure reply queued');
    return reply.code(303).header('location', `/m/${request.params.token}/sent`).send();
  });

  portal.post<{ Params: TokenParams; Body: FormBody }>('/:token/logout', HIDDEN, async (request, reply) => {
    const open = await openLink(deps, request, reply);
    if (!open) return reply;
    const session = await sessionFor(deps, request, open);
    if (!session) return signInAgain(reply, open.look, request.params.token);
    if (!csrfValid(deps.hashKey, sessionScope(session.id), request.body?.csrf)) return forbiddenForm(reply, open.look);
    await endSession(deps.stores.sessions, session);
    return sendPage(reply.header('set-cookie', sessionCookie(undefined)), 200, signedOutPage(open.look, request.params.token));
  });
}

/**
 * The recipient is told by mail that the reply left (from the sending address, like the code,
 * no DSN): a copy of nothing, so a mailbox that is read by others learns only that it happened.
 */
async function confirmReply(deps: PortalDeps, open: Open, unlocked: UnlockedMessage, o: { ip: string; now: number }): Promise<void> {
  const body = await replyConfirmationMail({
    meta: unlocked.meta,
    recipient: open.recipient.address,
    hostname: deps.hostname,
    now: o.now,
    locale: mailLocale(open.message.language, open.look.brand.locale),
    timeZone: open.look.brand.timeZone,
  });
  await queuePortalMail(deps.queue, {
    body,
    envelope: { mailFrom: open.message.sender, recipients: [{ address: open.recipient.address, notify: ['NEVER'] }] },
    direction: 'outbound',
    clientIp: o.ip,
    now: o.now,
  }).catch((err: unknown) => deps.log.error({ err, recipient: open.recipient.id }, 'could not queue the reply confirmation'));
}
