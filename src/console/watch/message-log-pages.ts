import type { FastifyInstance } from 'fastify';
import type { MessageDirection, RecipientStatus } from '../../model/states.js';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, layout } from '../layout.js';
import { formatBytes, pager, paging, queryText, timeEl } from './format.js';
import type { GatewayMailKind, MessageLogEntry, MessageSearch } from './message-log-records.js';

const PAGE_SIZE = 50;
const STATUSES: { value: RecipientStatus; label: string }[] = [
  { value: 'queued', label: 'Queued' },
  { value: 'deferred', label: 'Deferred' },
  { value: 'delivered', label: 'Delivered' },
  { value: 'bounced', label: 'Bounced' },
  { value: 'failed', label: 'Parked (inbound, expired)' },
];
const DIRECTIONS: { value: MessageDirection; label: string }[] = [
  { value: 'outbound', label: 'Outbound' },
  { value: 'secure', label: 'Secure' },
  { value: 'inbound', label: 'Inbound' },
];
/** Outcomes of the queue actions, shown after the redirect: fixed words, never the query's text. */
const DONE: Record<string, string> = { deleted: 'The message was deleted from the queue.' };

type Query = Record<string, unknown>;

/** The filters as typed; a status or direction outside the lists is ignored rather than refused. */
function searchOf(query: Query): MessageSearch {
  const pick = <T extends string>(value: string | undefined, allowed: { value: T }[]) => allowed.find((a) => a.value === value)?.value;
  return {
    sender: queryText(query.sender),
    recipient: queryText(query.recipient),
    subject: queryText(query.subject),
    id: queryText(query.id, 40),
    status: pick(queryText(query.status), STATUSES),
    direction: pick(queryText(query.direction), DIRECTIONS),
  };
}

function options<T extends string>(all: { value: T; label: string }[], selected: string | undefined, anyLabel: string): SafeHtml {
  return html`<option value="">${anyLabel}</option>${all.map((o) => html`<option value="${o.value}"${o.value === selected ? html` selected` : ''}>${o.label}</option>`)}`;
}

function searchForm(search: MessageSearch): SafeHtml {
  const text = (name: 'sender' | 'recipient' | 'subject' | 'id', label: string, type = 'text') =>
    html`<div><label for="f-${name}">${label}</label><input type="${type}" id="f-${name}" name="${name}" value="${search[name] ?? ''}"></div>`;
  return html`<form method="get" action="/console/messages" class="card search" role="search" aria-label="Search messages">
<div class="fields">${text('sender', 'Sender contains')}${text('recipient', 'Recipient contains')}${text('subject', 'Subject contains')}${text('id', 'Queue id')}
<div><label for="f-status">Recipient status</label><select id="f-status" name="status">${options(STATUSES, search.status, 'Any status')}</select></div>
<div><label for="f-direction">Direction</label><select id="f-direction" name="direction">${options(DIRECTIONS, search.direction, 'Any direction')}</select></div></div>
<p><button type="submit">Search</button> <a href="/console/messages">Clear</a></p></form>`;
}

const GATEWAY_MAIL: Record<GatewayMailKind, string> = {
  'secure-reply': 'Reply written in the portal to a secure message',
  'read-receipt': 'Read receipt for a secure message',
  'non-delivery-report': 'Non-delivery report for a secure message',
};

/** The subject, or what the message is when its subject is sealed with a secure message. */
function subjectOf(m: MessageLogEntry): SafeHtml {
  if (m.direction === 'secure') {
    const taken = m.secure?.shredded ? badge('shredded') : m.secure?.revoked ? badge('revoked') : '';
    return html`<a href="/console/secure-messages/${m.id}">Secure message</a> <span class="muted">(subject sealed)</span> ${taken}`;
  }
  if (m.gatewayMail) {
    // Known while the sealed body is kept (until delivered, or for inbound.retainBodies).
    const about = m.answers ? html` (<a href="/console/secure-messages/${m.answers}"><code>${m.answers}</code></a>)` : '';
    return html`${GATEWAY_MAIL[m.gatewayMail]}${about} <span class="muted">(subject sealed)</span>`;
  }
  if (m.isDsn) return html`<span class="muted">(delivery status notification)</span>`;
  return m.subject === null ? html`<span class="muted">(none)</span>` : html`${m.subject}`;
}

function row(m: MessageLogEntry): SafeHtml {
  const subject = subjectOf(m);
  return html`<tr><td>${timeEl(m.receivedAt)}</td><td><a href="/console/messages/${m.id}"><code>${m.id}</code></a></td><td>${m.direction}</td>
<td>${m.mailFrom || '<>'}</td><td><ul class="plain">${m.recipients.map((r) => html`<li>${r.address} ${badge(r.status)}</li>`)}</ul></td><td>${subject}</td><td>${formatBytes(m.sizeBytes)}</td></tr>`;
}

/** The message log: every message the gateway holds a record of, searchable, newest first. */
export function registerMessageLog(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get<{ Querystring: Query }>('/messages', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const search = searchOf(request.query);
    const page = paging(queryText(request.query.page), PAGE_SIZE);
    const result = await deps.watch.searchMessages(search, page);
    const filtered = Object.values(search).some(Boolean);
    const table =
      result.items.length === 0
        ? html`<p>${filtered ? 'No message matches this search.' : 'No messages yet.'}</p>`
        : html`<div class="table-wrap"><table><caption class="visually-hidden">Messages, newest first</caption>
<thead><tr><th scope="col">Received</th><th scope="col">Queue id</th><th scope="col">Direction</th><th scope="col">Sender</th><th scope="col">Recipients</th><th scope="col">Subject</th><th scope="col">Size</th></tr></thead>
<tbody>${result.items.map(row)}</tbody></table></div>`;
    const done = DONE[queryText(request.query.done) ?? ''];
    const body = html`${searchForm(search)}<section aria-labelledby="results-heading"><h2 id="results-heading">${filtered ? 'Matching messages' : 'All messages'}</h2>
${table}${pager('/console/messages', { ...search }, page, result.total, 'messages')}</section>`;
    return sendPage(
      reply,
      200,
      layout({ title: 'Messages', admin: signed.admin, csrf: signed.csrf, active: 'messages', body, flash: done ? { kind: 'ok', text: done } : undefined }),
    );
  });
}
