import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuditEntry } from '../../audit/audit-log.js';
import { DirectoryError } from '../../model/directory-error.js';
import { html, type SafeHtml } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, csrfField, layout } from '../layout.js';
import { formatBytes, queryText, timeEl } from './format.js';
import { secureRecipients, type TimelineMessage, timeline } from './message-timeline.js';

type Params = { id: string };
const ID = /^[0-9A-Za-z]{1,40}$/;
const RETRYABLE = new Set(['queued', 'deferred', 'failed']);
const DONE: Record<string, { kind: 'ok' | 'error'; text: string }> = {
  retried: { kind: 'ok', text: 'The waiting recipients will be tried now.' },
  nothing: { kind: 'error', text: 'No recipient of this message is waiting for delivery: there is nothing to retry.' },
  unlocked: { kind: 'ok', text: 'The portal link is unlocked: the recipient can ask for a new code.' },
  'not-locked': { kind: 'error', text: 'That portal link is not locked.' },
};

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

function notFoundPage(reply: FastifyReply, signed: Signed, id: string): FastifyReply {
  return sendPage(
    reply,
    404,
    layout({
      title: 'No such message',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'messages',
      body: html`<p>No message ${id} in the queue: it may have been deleted. <a href="/console/messages">Back to the message log</a></p>`,
    }),
  );
}

function summary(message: TimelineMessage, subject: string | null | undefined): SafeHtml {
  const senderDomain = message.mailFrom.includes('@') ? domainOf(message.mailFrom) : undefined;
  return html`<dl class="card">
<dt>Queue id</dt><dd><code>${message.id}</code></dd>
<dt>Direction</dt><dd>${message.direction}${message.isDsn ? ' (delivery status notification made by the gateway)' : ''}</dd>
<dt>Sender</dt><dd>${message.mailFrom || '<> (null sender)'}${senderDomain ? html` · <a href="/console/domains/${senderDomain}/dns">DNS report for ${senderDomain}</a>` : ''}</dd>
<dt>Subject</dt><dd>${message.direction === 'secure' ? html`<span class="muted">sealed with the secure message</span>` : (subject ?? html`<span class="muted">(none)</span>`)}</dd>
<dt>Size</dt><dd>${formatBytes(message.sizeBytes)}</dd>
<dt>Received</dt><dd>${timeEl(message.receivedAt)}</dd>
<dt>Expires</dt><dd>${timeEl(message.expiresAt)}</dd>
<dt>Completed</dt><dd>${message.completedAt === null ? 'not yet' : timeEl(message.completedAt)}</dd></dl>`;
}

function recipientsTable(message: TimelineMessage): SafeHtml {
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Recipients and their state</caption>
<thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Next attempt</th><th scope="col">Last reply</th></tr></thead>
<tbody>${message.recipients.map(
    (r) =>
      html`<tr><td>${r.address}</td><td>${badge(r.status)}</td><td>${r.attempts}</td><td>${timeEl(r.lastAttemptAt)}</td><td>${timeEl(r.nextAttemptAt)}</td><td>${r.lastReply ? html`<code>${r.lastReply}</code>` : '–'}</td></tr>`,
  )}</tbody></table></div>`;
}

function actions(message: TimelineMessage, csrf: string): SafeHtml {
  const retryable = message.recipients.some((r) => RETRYABLE.has(r.status));
  return html`<section aria-labelledby="actions-heading"><h2 id="actions-heading">Queue actions</h2><div class="card">
${retryable ? html`<form method="post" action="/console/messages/${message.id}/retry" class="inline">${csrfField(csrf)}<button type="submit">Retry now</button></form> ` : html`<p class="muted">No recipient is waiting: nothing to retry.</p>`}
<a class="button secondary" href="/console/messages/${message.id}/delete">Delete…</a></div></section>`;
}

async function secureSection(deps: ConsoleDeps, id: string, csrf: string): Promise<SafeHtml> {
  try {
    const detail = await deps.services.secureMessages.show(id);
    return html`<section aria-labelledby="secure-heading"><h2 id="secure-heading">Secure message recipients</h2>${secureRecipients(detail, csrfField(csrf))}</section>`;
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    return html`<section aria-labelledby="secure-heading"><h2 id="secure-heading">Secure message recipients</h2><p>The secure record is gone (shredded or deleted).</p></section>`;
  }
}

async function audited(deps: ConsoleDeps, signed: Signed, entry: AuditEntry): Promise<void> {
  await deps.watch.audit(signed.actor, entry, deps.clock.now());
}

/** One message: its state, its timeline with every attempt and the TLS evidence, and the queue actions (audited). */
export function registerMessagePages(app: FastifyInstance, deps: ConsoleDeps): void {
  const load = async (raw: string) => (ID.test(raw) ? deps.services.messages.show(raw.toUpperCase()) : undefined);

  app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/messages/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const message = await load(request.params.id);
    if (!message) return notFoundPage(reply, signed, request.params.id);
    const origin = await deps.watch.messageOrigin(message.id);
    const body = html`${summary(message, origin?.subject)}
<section aria-labelledby="recipients-heading"><h2 id="recipients-heading">Recipients</h2>${recipientsTable(message)}</section>
${actions(message, signed.csrf)}
${message.direction === 'secure' ? await secureSection(deps, message.id, signed.csrf) : ''}
<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Timeline</h2>${timeline(message, origin)}</section>
<p><a href="/console/messages">Back to the message log</a></p>`;
    const done = DONE[queryText(request.query.done) ?? ''];
    return sendPage(reply, 200, layout({ title: `Message ${message.id}`, admin: signed.admin, csrf: signed.csrf, active: 'messages', body, flash: done }));
  });

  app.post<{ Params: Params }>('/messages/:id/retry', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const message = await load(request.params.id);
    if (!message) return notFoundPage(reply, signed, request.params.id);
    const made = await deps.queue.retry(message.id);
    if (made > 0) await audited(deps, signed, { action: 'queue.retry', targetType: 'message', targetId: message.id, detail: { recipients: made } });
    return reply.redirect(`/console/messages/${message.id}?done=${made > 0 ? 'retried' : 'nothing'}`, 303);
  });

  app.post<{ Params: Params; Body: Record<string, unknown> | undefined }>('/messages/:id/unlock', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const message = await load(request.params.id);
    const address = request.body?.address;
    if (message?.direction !== 'secure' || typeof address !== 'string') return notFoundPage(reply, signed, request.params.id);
    try {
      await deps.services.secureMessages.unlock(message.id, address, signed.actor);
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      return reply.redirect(`/console/messages/${message.id}?done=not-locked`, 303);
    }
    return reply.redirect(`/console/messages/${message.id}?done=unlocked`, 303);
  });

  app.get<{ Params: Params }>('/messages/:id/delete', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const message = await load(request.params.id);
    if (!message) return notFoundPage(reply, signed, request.params.id);
    const waiting = message.recipients.filter((r) => RETRYABLE.has(r.status)).length;
    const body = html`<div class="card"><p>Delete message <code>${message.id}</code> from ${message.mailFrom || '<>'} to ${message.recipients.length} recipient(s)?</p>
<p>${waiting > 0 ? `${waiting} recipient(s) have not been delivered and never will be; no bounce is sent. ` : ''}Its body and its history go with it; the audit log keeps a record of the deletion.</p>
<form method="post" action="/console/messages/${message.id}/delete">${csrfField(signed.csrf)}<button type="submit" class="danger">Delete the message</button>
<a href="/console/messages/${message.id}">Cancel</a></form></div>`;
    return sendPage(reply, 200, layout({ title: `Delete message ${message.id}?`, admin: signed.admin, csrf: signed.csrf, active: 'messages', body }));
  });

  app.post<{ Params: Params }>('/messages/:id/delete', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const message = await load(request.params.id);
    if (!message || !(await deps.queue.remove(message.id))) return notFoundPage(reply, signed, request.params.id);
    const detail = {
      mailFrom: message.mailFrom,
      direction: message.direction,
      recipients: message.recipients.map((r) => ({ address: r.address, status: r.status })),
    };
    await audited(deps, signed, { action: 'queue.delete', targetType: 'message', targetId: message.id, detail });
    return reply.redirect('/console/messages?done=deleted', 303);
  });
}
