import type { FastifyInstance, FastifyReply } from 'fastify';
import { DirectoryError } from '../../model/directory-error.js';
import type { SecureMessageDetail, SecureMessageFilter, SecureMessageView } from '../../secure/secure-messages.js';
import { html, type SafeHtml } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, csrfField, layout } from '../layout.js';
import { confirmationPage, confirmedIn } from '../setup/confirm-page.js';
import { type FormBody, field } from '../setup/form-fields.js';
import { pager, paging, queryText, timeEl } from './format.js';
import { secureRecipients } from './message-timeline.js';

const PAGE_SIZE = 25;
const ID = /^[0-9A-Za-z]{1,40}$/;
const STATES: { value: NonNullable<SecureMessageFilter['state']>; label: string }[] = [
  { value: 'active', label: 'Readable' },
  { value: 'locked', label: 'A link locked by wrong codes' },
  { value: 'revoked', label: 'Revoked' },
  { value: 'shredded', label: 'Shredded' },
];
/** Outcomes shown after the redirect: fixed words, never the query's text. */
const DONE: Record<string, { kind: 'ok' | 'error'; text: string }> = {
  revoked: { kind: 'ok', text: 'The message was revoked: no recipient can open it any more, and open portal sessions ended.' },
  'recipient-revoked': { kind: 'ok', text: "The recipient's access was revoked: their link opens nothing any more." },
  unlocked: { kind: 'ok', text: 'The portal link is unlocked: the recipient can ask for a new code.' },
  'not-locked': { kind: 'error', text: 'That portal link is not locked.' },
  shredded: { kind: 'ok', text: 'The message was shredded: its key is destroyed, so no copy of it can be opened again.' },
};

type Params = { Params: { id: string } };
type Posted = Params & { Body: FormBody };

const messagePath = (id: string) => `/console/secure-messages/${encodeURIComponent(id)}`;

function state(m: SecureMessageView): SafeHtml {
  if (m.shreddedAt !== null) return badge('shredded');
  if (m.revokedAt !== null) return badge('revoked');
  return badge('readable');
}

function subjectCell(m: SecureMessageView): SafeHtml {
  return m.subject === null ? html`<span class="muted">(shredded)</span>` : html`${m.subject}`;
}

/** Each recipient with the state the sender cares about, on one line of the list. */
function recipientList(detail: SecureMessageDetail): SafeHtml {
  return html`<ul class="plain">${detail.recipients.map(
    (r) =>
      html`<li>${r.address} ${badge(r.status)}${r.revoked ? html` ${badge('revoked')}` : ''}${r.lockedAt !== null ? html` ${badge('locked')}` : ''}${
        r.fallbackReason ? html` <span class="muted">(portal instead of direct)</span>` : ''
      }</li>`,
  )}</ul>`;
}

function filterForm(filter: SecureMessageFilter): SafeHtml {
  return html`<form method="get" action="/console/secure-messages" class="card search" role="search" aria-label="Search secure messages">
<div class="fields"><div><label for="f-recipient">Recipient contains</label><input type="text" id="f-recipient" name="recipient" value="${filter.recipient ?? ''}"></div>
<div><label for="f-state">State</label><select id="f-state" name="state"><option value="">Any state</option>${STATES.map(
    (s) => html`<option value="${s.value}"${s.value === filter.state ? html` selected` : ''}>${s.label}</option>`,
  )}</select></div></div>
<p><button type="submit">Search</button> <a href="/console/secure-messages">Clear</a></p></form>`;
}

function notFound(reply: FastifyReply, signed: Signed, id: string): FastifyReply {
  const body = html`<p>No secure message ${id}: the id is wrong, or the message belongs to another organisation.
<a href="/console/secure-messages">All secure messages</a></p>`;
  return sendPage(reply, 404, layout({ title: 'No such secure message', admin: signed.admin, csrf: signed.csrf, active: 'secure', body }));
}

function facts(m: SecureMessageDetail): SafeHtml {
  return html`<dl class="card">
<dt>Queue id</dt><dd><a href="/console/messages/${m.id}"><code>${m.id}</code></a> (the queue's record, with every delivery attempt)</dd>
<dt>Sender</dt><dd>${m.sender}</dd>
<dt>Subject</dt><dd>${subjectCell(m)}</dd>
<dt>State</dt><dd>${state(m)}${m.revokedAt !== null ? html` since ${timeEl(m.revokedAt)}` : ''}${m.shreddedAt !== null ? html` at ${timeEl(m.shreddedAt)}` : ''}</dd>
<dt>Accepted</dt><dd>${timeEl(m.createdAt)}</dd>
<dt>Readable until</dt><dd>${timeEl(m.retainUntil)}</dd></dl>`;
}

/** Revoking one recipient, beside the unlock form the recipients table already has. */
function recipientActions(m: SecureMessageDetail, csrf: string): SafeHtml {
  const live = m.recipients.filter((r) => !r.revoked);
  if (m.shreddedAt !== null || m.revokedAt !== null || live.length === 0) return html``;
  return html`<h3 id="revoke-recipient-heading">Revoke one recipient's access</h3>
<form method="post" action="${messagePath(m.id)}/revoke" class="card" aria-labelledby="revoke-recipient-heading">${csrfField(csrf)}
<div class="field"><label for="revoke-address">Recipient</label><select id="revoke-address" name="address">${live.map(
    (r) => html`<option value="${r.address}">${r.address}</option>`,
  )}</select></div><p><button type="submit" class="danger">Revoke this recipient…</button></p></form>`;
}

function messageActions(m: SecureMessageDetail, csrf: string): SafeHtml {
  if (m.shreddedAt !== null) return html`<p class="muted">Shredded: there is nothing left to revoke or delete.</p>`;
  const revoke =
    m.revokedAt === null
      ? html`<form method="post" action="${messagePath(m.id)}/revoke" class="inline">${csrfField(csrf)}<button type="submit" class="danger">Revoke the message…</button></form> `
      : '';
  return html`<div class="card">${revoke}<form method="post" action="${messagePath(m.id)}/shred" class="inline">${csrfField(csrf)}<button type="submit" class="danger">Shred…</button></form>
<p class="hint">Revoking keeps the sealed message (for the record) but no link opens it; shredding destroys its key, so no copy opens again.</p></div>`;
}

/**
 * /console/secure-messages: what became of each secure message and each recipient, and the
 * sender's controls — revoke a recipient or the whole message, unlock a link that wrong codes
 * locked, shred — through the service the CLI and the API use, so the same checks and the
 * same audit records, under the administrator's name. Each irreversible step asks first.
 */
export function registerSecureMessagePages(app: FastifyInstance, deps: ConsoleDeps): void {
  const service = deps.services.secureMessages;
  const load = async (id: string): Promise<SecureMessageDetail | undefined> => {
    if (!ID.test(id)) return undefined;
    try {
      return await service.show(id);
    } catch (err) {
      if (err instanceof DirectoryError && err.code === 'not_found') return undefined;
      throw err;
    }
  };

  app.get<{ Querystring: Record<string, unknown> }>('/secure-messages', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const pick = queryText(request.query.state);
    const filter: SecureMessageFilter = { recipient: queryText(request.query.recipient), state: STATES.find((s) => s.value === pick)?.value };
    const page = paging(queryText(request.query.page), PAGE_SIZE);
    const result = await service.list(page, filter);
    const details = await Promise.all(result.items.map((m) => service.show(m.id)));
    const filtered = Boolean(filter.recipient || filter.state);
    const table =
      details.length === 0
        ? html`<p>${filtered ? 'No secure message matches this search.' : 'No secure messages yet.'}</p>`
        : html`<div class="table-wrap"><table><caption class="visually-hidden">Secure messages, newest first</caption>
<thead><tr><th scope="col">Accepted</th><th scope="col">Message</th><th scope="col">Sender</th><th scope="col">Subject</th><th scope="col">Recipients</th><th scope="col">State</th></tr></thead>
<tbody>${details.map(
            (m) =>
              html`<tr><td>${timeEl(m.createdAt)}</td><td><a href="${messagePath(m.id)}"><code>${m.id}</code></a></td><td>${m.sender}</td><td>${subjectCell(m)}</td><td>${recipientList(m)}</td><td>${state(m)}</td></tr>`,
          )}</tbody></table></div>`;
    const body = html`<p>Messages sent as secure messages, and each recipient's state. <a href="/console/secure">Settings for secure messages</a> (retention, read receipts, language, branding).</p>
${filterForm(filter)}<section aria-labelledby="results-heading"><h2 id="results-heading">${filtered ? 'Matching secure messages' : 'All secure messages'}</h2>
${table}${pager('/console/secure-messages', { recipient: filter.recipient, state: filter.state }, page, result.total, 'secure messages')}</section>`;
    return sendPage(reply, 200, layout({ title: 'Secure messages', admin: signed.admin, csrf: signed.csrf, active: 'secure', body }));
  });

  app.get<Params & { Querystring: Record<string, unknown> }>('/secure-messages/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const m = await load(request.params.id);
    if (!m) return notFound(reply, signed, request.params.id);
    const body = html`${facts(m)}
<section aria-labelledby="recipients-heading"><h2 id="recipients-heading">Recipients</h2>${secureRecipients(m, csrfField(signed.csrf), `${messagePath(m.id)}/unlock`)}
${recipientActions(m, signed.csrf)}</section>
<section aria-labelledby="actions-heading"><h2 id="actions-heading">The whole message</h2>${messageActions(m, signed.csrf)}</section>
<p><a href="/console/secure-messages">All secure messages</a></p>`;
    const flash = DONE[queryText(request.query.done) ?? ''];
    return sendPage(reply, 200, layout({ title: `Secure message ${m.id}`, admin: signed.admin, csrf: signed.csrf, active: 'secure', body, flash }));
  });

  app.post<Posted>('/secure-messages/:id/revoke', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const m = await load(request.params.id);
    if (!m) return notFound(reply, signed, request.params.id);
    const address = field(request.body, 'address').trim();
    const recipient = address ? m.recipients.find((r) => r.address.toLowerCase() === address.toLowerCase()) : undefined;
    if (address && !recipient) return notFound(reply, signed, `${m.id} to ${address}`);
    if (!confirmedIn(request.body)) {
      const change = recipient ? `Revoke ${recipient.address}'s access to secure message ${m.id}` : `Revoke secure message ${m.id}`;
      const consequence = recipient
        ? 'their link opens nothing any more and their portal session ends; the other recipients keep theirs. This cannot be undone'
        : 'no recipient can open it any more and every portal session on it ends. This cannot be undone';
      const form = {
        action: `${messagePath(m.id)}/revoke`,
        values: (recipient ? { address: recipient.address } : {}) as Record<string, string>,
        change,
        confirmLabel: recipient ? 'Revoke the recipient' : 'Revoke the message',
        cancel: messagePath(m.id),
        active: 'secure' as const,
      };
      return sendPage(reply, 200, confirmationPage(signed, form, consequence));
    }
    if (recipient) await service.revokeRecipient(m.id, recipient.address, signed.actor);
    else await service.revoke(m.id, signed.actor);
    return reply.redirect(`${messagePath(m.id)}?done=${recipient ? 'recipient-revoked' : 'revoked'}`, 303);
  });

  app.post<Posted>('/secure-messages/:id/unlock', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const m = await load(request.params.id);
    if (!m) return notFound(reply, signed, request.params.id);
    try {
      await service.unlock(m.id, field(request.body, 'address').trim(), signed.actor);
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      return reply.redirect(`${messagePath(m.id)}?done=not-locked`, 303);
    }
    return reply.redirect(`${messagePath(m.id)}?done=unlocked`, 303);
  });

  app.post<Posted>('/secure-messages/:id/shred', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const m = await load(request.params.id);
    if (!m) return notFound(reply, signed, request.params.id);
    if (!confirmedIn(request.body)) {
      const form = {
        action: `${messagePath(m.id)}/shred`,
        values: {},
        change: `Shred secure message ${m.id} from ${m.sender}`,
        confirmLabel: 'Shred the message',
        cancel: messagePath(m.id),
        active: 'secure' as const,
      };
      const consequence = `its key is destroyed: no recipient, and no copy of its ciphertext anywhere, can be opened again, and its ${m.recipients.length} recipient(s) see "deleted by the sender". This cannot be undone`;
      return sendPage(reply, 200, confirmationPage(signed, form, consequence));
    }
    await service.shred(m.id, signed.actor);
    return reply.redirect(`${messagePath(m.id)}?done=shredded`, 303);
  });
}
