import { formatDate, formatNumber, type MessageKey, t } from '../i18n/index.js';
import { html, type SafeHtml } from '../web/html.js';
import { errorPage, layout, th } from './layout.js';
import type { ShownMessage } from './message-view.js';
import type { CodeState } from './one-time-code.js';
import type { Look } from './page-look.js';
import type { ThreadReply } from './portal-replies.js';

export { errorPage, layout } from './layout.js';

/** A link that saw too many wrong codes: nothing the recipient can do here, so say who can help. */
export function lockedPage(look: Look, sender: string): string {
  return layout(
    look,
    t(look.locale, 'locked.title'),
    html`<div class="card"><h1>${t(look.locale, 'locked.heading')}</h1>
<p>${t(look.locale, 'locked.text')}</p>
<p>${th(look, 'locked.contact', { sender: html`<strong>${sender}</strong>` })}</p></div>`,
  );
}

/** One address sent too many requests: when it may try again, in words and in Retry-After. */
export function tooManyRequestsPage(look: Look, retryAfterSeconds: number): string {
  const wait = retryAfterSeconds <= 60 ? t(look.locale, 'wait.minute') : t(look.locale, 'wait.minutes', { count: Math.ceil(retryAfterSeconds / 60) });
  return layout(
    look,
    t(look.locale, 'tooMany.title'),
    html`<div class="card"><h1>${t(look.locale, 'tooMany.title')}</h1><p>${t(look.locale, 'tooMany.text', { wait })}</p></div>`,
  );
}

/**
 * The page was reached over plain http:// at an address the browser does not treat as local:
 * the browser will not keep the sign-in (the cookie is Secure), so the code step would only
 * start over. Said to the recipient in plain words, with what the operator has to change.
 */
export function plainHttpPage(look: Look): string {
  return layout(
    look,
    t(look.locale, 'plainHttp.title'),
    html`<div class="card"><h1>${t(look.locale, 'plainHttp.heading')}</h1>
<p>${t(look.locale, 'plainHttp.text')}</p>
<p>${t(look.locale, 'plainHttp.advice')}</p></div>
<div class="card"><h2>${t(look.locale, 'plainHttp.adminHeading')}</h2>
<p class="muted">${th(look, 'plainHttp.adminText', { variable: html`<code>RELAYGATE_HTTP_PUBLIC_URL</code>`, key: html`<code>http.publicUrl</code>` })}</p></div>`,
  );
}

export interface LandingView {
  token: string;
  csrf: string;
  senderName: string;
  senderAddress: string;
  maskedRecipient: string;
  codeState: CodeState;
  codeMinutes: number;
  problem?: { kind: string; attemptsLeft?: number; waitSeconds?: number } | undefined;
}

const PROBLEM_KEY: Record<string, MessageKey> = {
  malformed: 'problem.malformed',
  expired: 'problem.expired',
  exhausted: 'problem.exhausted',
  none: 'problem.none',
};

function problemText(look: Look, p: NonNullable<LandingView['problem']>): string {
  if (p.kind === 'wrong' && p.attemptsLeft === 0) return t(look.locale, 'problem.exhausted');
  if (p.kind === 'wrong')
    return p.attemptsLeft === 1 ? t(look.locale, 'problem.wrongOne') : t(look.locale, 'problem.wrongMany', { count: p.attemptsLeft ?? 0 });
  if (p.kind === 'too-soon') return t(look.locale, 'problem.tooSoon', { seconds: p.waitSeconds ?? 30 });
  return t(look.locale, PROBLEM_KEY[p.kind] ?? 'problem.unknown');
}

export function landingPage(look: Look, v: LandingView): string {
  const base = `/m/${v.token}`;
  const sender = v.senderName ? html`${v.senderName} &lt;${v.senderAddress}&gt;` : html`${v.senderAddress}`;
  const pending = v.codeState === 'pending';
  const masked = html`<strong>${v.maskedRecipient}</strong>`;
  const codeForm = html`<form method="post" action="${base}/verify" autocomplete="off">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="code">${t(look.locale, 'landing.codeLabel')}</label>
<input class="code" type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" autocomplete="one-time-code" required>
<p><button type="submit">${t(look.locale, 'landing.open')}</button></p></form>`;
  const sendForm = html`<form method="post" action="${base}/code">
<input type="hidden" name="csrf" value="${v.csrf}">
<button type="submit" class="${pending ? 'secondary' : ''}">${t(look.locale, pending ? 'landing.sendNewCode' : 'landing.sendCode')}</button></form>`;
  return layout(
    look,
    t(look.locale, 'landing.title'),
    html`<div class="card"><h1>${t(look.locale, 'landing.heading')}</h1>
<p>${th(look, 'landing.from', { sender: html`<strong>${sender}</strong>` })}</p>
<p class="muted">${th(look, 'landing.prove', { address: masked })}</p></div>
${v.problem ? html`<div class="card error" role="alert">${problemText(look, v.problem)}</div>` : ''}
<div class="card">${pending ? html`<p class="notice" role="status">${th(look, 'landing.codeSent', { address: v.maskedRecipient, minutes: v.codeMinutes })}</p>${codeForm}<hr>` : ''}${sendForm}</div>`,
  );
}

export interface MessageViewInput {
  token: string;
  csrf: string;
  recipient: string;
  message: ShownMessage;
  /** The recipient's own earlier replies, oldest first. */
  thread: ThreadReply[];
  problem?: string | undefined;
  maxAttachments: number;
}

function size(look: Look, bytes: number): string {
  if (bytes < 1024) return t(look.locale, 'size.bytes', { count: formatNumber(look.locale, bytes) });
  if (bytes < 1024 * 1024) return t(look.locale, 'size.kilobytes', { count: formatNumber(look.locale, bytes / 1024, 1) });
  return t(look.locale, 'size.megabytes', { count: formatNumber(look.locale, bytes / 1024 / 1024, 1) });
}

function threadCard(look: Look, thread: ThreadReply[]): SafeHtml | '' {
  if (thread.length === 0) return '';
  const items = thread.map(
    (
      r,
    ) => html`<li><p class="muted"><strong>${t(look.locale, 'thread.you')}</strong> · ${t(look.locale, 'thread.sentOn', { date: formatDate(look.locale, r.sentAt, look.brand.timeZone) })}</p>
<pre class="text">${r.text}</pre>${r.files.length > 0 ? html`<p class="muted">${t(look.locale, 'thread.files', { names: r.files.join(', ') })}</p>` : ''}</li>`,
  );
  return html`<section class="card" aria-labelledby="thread"><h2 id="thread">${t(look.locale, 'thread.heading')}</h2><ol class="thread">${items}</ol></section>`;
}

export function messagePage(look: Look, v: MessageViewInput): string {
  const base = `/m/${v.token}`;
  const m = v.message;
  const subject = m.subject || t(look.locale, 'message.noSubject');
  const from = m.fromName ? `${m.fromName} <${m.fromAddress}>` : m.fromAddress;
  // The frame gets no scripts, no same-origin, no forms: only links that open outside it.
  const body = m.html
    ? html`<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="${base}/content" title="${t(look.locale, 'message.frameTitle')}" referrerpolicy="no-referrer"></iframe>`
    : html`<pre class="text">${m.text}</pre>`;
  const blocked = m.remoteImagesBlocked > 0 ? html`<p class="blocked" role="note">${t(look.locale, 'message.remoteImages')}</p>` : '';
  const files = m.attachments.map(
    (a) => html`<li><a href="${base}/attachments/${a.index}" download>${a.filename}</a> <span class="muted">${size(look, a.sizeBytes)}</span></li>`,
  );
  const l = look.locale;
  return layout(
    look,
    subject,
    html`<div class="card"><h1>${subject}</h1><dl><dt>${t(l, 'message.from')}</dt><dd>${from}</dd><dt>${t(l, 'message.to')}</dt><dd>${v.recipient}</dd><dt>${t(l, 'message.date')}</dt><dd>${formatDate(l, m.date.getTime(), look.brand.timeZone)}</dd></dl></div>
<div class="card">${blocked}${body}</div>
${files.length > 0 ? html`<div class="card"><h2>${t(l, 'message.attachments')}</h2><ul class="files">${files}</ul></div>` : ''}
${threadCard(look, v.thread)}
${v.problem ? html`<div class="card error" role="alert">${v.problem}</div>` : ''}
<div class="card"><h2>${t(l, 'message.replyHeading')}</h2>
<form method="post" action="${base}/reply" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="text">${t(l, 'message.replyLabel', { name: m.fromName || m.fromAddress })}</label><textarea id="text" name="text" required></textarea>
<label for="files">${t(l, 'message.replyFiles', { count: v.maxAttachments })}</label><input type="file" id="files" name="attachment" multiple>
<p><button type="submit">${t(l, 'message.replySend')}</button></p></form></div>
<form method="post" action="${base}/logout" class="inline"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit" class="secondary">${t(l, 'message.signOut')}</button></form>`,
  );
}

/** The document inside the sandboxed frame: sanitised markup and nothing the page itself relies on. */
export function contentDocument(sanitized: SafeHtml, locale?: string | undefined): string {
  return html`<!doctype html><html${locale ? html` lang="${locale}"` : ''}><head><meta charset="utf-8"><base target="_blank"><style>body{margin:8px;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif;color:#1f2328;word-wrap:break-word}img{max-width:100%;height:auto}</style></head><body>${sanitized}</body></html>`
    .value;
}

export function replySentPage(look: Look, token: string): string {
  return layout(
    look,
    t(look.locale, 'sent.title'),
    html`<div class="card"><h1>${t(look.locale, 'sent.heading')}</h1><p>${t(look.locale, 'sent.text')}</p>
<p><a class="button" href="/m/${token}">${t(look.locale, 'sent.back')}</a></p></div>`,
  );
}

export function signedOutPage(look: Look, token: string): string {
  return layout(
    look,
    t(look.locale, 'signedOut.title'),
    html`<div class="card"><h1>${t(look.locale, 'signedOut.heading')}</h1><p><a class="button" href="/m/${token}">${t(look.locale, 'signedOut.again')}</a></p></div>`,
  );
}

export function notFoundPage(look: Look): string {
  return errorPage(look, 'error.notFound.title', 'error.notFound.text');
}
