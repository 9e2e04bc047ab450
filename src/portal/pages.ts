import { html, type SafeHtml } from '../web/html.js';
import type { ShownMessage } from './message-view.js';
import type { CodeState } from './one-time-code.js';

/** One small stylesheet inline (the page's CSP allows inline style, nothing else): readable on a phone, big tap targets. */
const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f4f5f7}
main{max-width:44rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:12px;padding:1.25rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:0 0 .5rem}
p{margin:.5rem 0}.muted{color:#59636e;font-size:.95rem}
button,.button{display:inline-block;min-height:48px;padding:.7rem 1.3rem;border:0;border-radius:8px;background:#1d4ed8;color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
button.secondary{background:#e7eaf0;color:#1f2328}
input[type=text],textarea{width:100%;font:inherit;padding:.7rem;border:1px solid #b6bcc6;border-radius:8px}
input.code{font-size:1.6rem;letter-spacing:.35em;max-width:12rem;text-align:center}
textarea{min-height:9rem}label{display:block;font-weight:600;margin:.75rem 0 .35rem}
.error{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:.75rem}.notice{background:#e8f3ec;color:#1d5b34;border-radius:8px;padding:.75rem}
iframe{width:100%;height:60vh;border:1px solid #d9dde3;border-radius:8px;background:#fff}
pre.text{white-space:pre-wrap;word-wrap:break-word;font:inherit;margin:0}
ul.files{list-style:none;padding:0;margin:0}ul.files li{padding:.6rem 0;border-top:1px solid #eceef1}ul.files a{font-weight:600;word-break:break-all}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem;margin:.5rem 0}dt{color:#59636e}dd{margin:0;word-break:break-word}
form.inline{display:inline}
`;

export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${title}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`.value;
}

export function errorPage(title: string, text: string, link?: { href: string; label: string }): string {
  const action = link ? html`<p><a class="button" href="${link.href}">${link.label}</a></p>` : '';
  return layout(title, html`<div class="card"><h1>${title}</h1><p>${text}</p>${action}</div>`);
}

const PROBLEM_TEXT: Record<string, string> = {
  'too-soon': 'A code was sent a moment ago. Please wait a little before asking for another one.',
  malformed: 'Please enter the 6 digits from the mail.',
  expired: 'This code has expired. Ask for a new one.',
  exhausted: 'Too many wrong codes. This code no longer works: ask for a new one.',
  none: 'There is no code to check. Ask for a code first.',
};

export interface LandingView {
  token: string;
  csrf: string;
  senderName: string;
  senderAddress: string;
  maskedRecipient: string;
  codeState: CodeState;
  problem?: { kind: string; attemptsLeft?: number; waitSeconds?: number } | undefined;
}

function problemText(p: NonNullable<LandingView['problem']>): string {
  if (p.kind === 'wrong') return `That code is not right. ${p.attemptsLeft} ${p.attemptsLeft === 1 ? 'attempt' : 'attempts'} left.`;
  if (p.kind === 'too-soon') return `${PROBLEM_TEXT['too-soon']} (${p.waitSeconds ?? 30} s)`;
  return PROBLEM_TEXT[p.kind] ?? 'Something went wrong. Please try again.';
}

export function landingPage(v: LandingView): string {
  const base = `/m/${v.token}`;
  const sender = v.senderName ? html`${v.senderName} &lt;${v.senderAddress}&gt;` : html`${v.senderAddress}`;
  const pending = v.codeState === 'pending';
  const codeForm = html`<form method="post" action="${base}/verify" autocomplete="off">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="code">Code from the mail</label>
<input class="code" type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" autocomplete="one-time-code" required>
<p><button type="submit">Open the message</button></p></form>`;
  const sendForm = html`<form method="post" action="${base}/code">
<input type="hidden" name="csrf" value="${v.csrf}">
<button type="submit" class="${pending ? 'secondary' : ''}">${pending ? 'Send a new code' : 'Email me a code'}</button></form>`;
  return layout(
    'Secure message',
    html`<div class="card"><h1>You have a secure message</h1>
<p>From <strong>${sender}</strong></p>
<p class="muted">To read it, prove that you can read mail sent to <strong>${v.maskedRecipient}</strong>: we mail a 6-digit code there.</p></div>
${v.problem ? html`<div class="card error" role="alert">${problemText(v.problem)}</div>` : ''}
<div class="card">${pending ? html`<p class="notice">A code was sent to ${v.maskedRecipient}. It is valid for 10 minutes.</p>${codeForm}<hr>` : ''}${sendForm}</div>`,
  );
}

export interface MessageViewInput {
  token: string;
  csrf: string;
  recipient: string;
  message: ShownMessage;
  repliedAt: number | null;
  problem?: string | undefined;
  maxAttachments: number;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function messagePage(v: MessageViewInput): string {
  const base = `/m/${v.token}`;
  const m = v.message;
  const from = m.fromName ? `${m.fromName} <${m.fromAddress}>` : m.fromAddress;
  // The frame gets no scripts, no same-origin, no forms: only links that open outside it.
  const body = m.html
    ? html`<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="${base}/content" title="Message" referrerpolicy="no-referrer"></iframe>`
    : html`<pre class="text">${m.text}</pre>`;
  const files = m.attachments.map(
    (a) => html`<li><a href="${base}/attachments/${a.index}" download>${a.filename}</a> <span class="muted">${size(a.sizeBytes)}</span></li>`,
  );
  return layout(
    m.subject,
    html`<div class="card"><h1>${m.subject}</h1><dl><dt>From</dt><dd>${from}</dd><dt>To</dt><dd>${v.recipient}</dd><dt>Date</dt><dd>${m.date.toUTCString()}</dd></dl></div>
<div class="card">${body}</div>
${files.length > 0 ? html`<div class="card"><h2>Attachments</h2><ul class="files">${files}</ul></div>` : ''}
${v.problem ? html`<div class="card error" role="alert">${v.problem}</div>` : ''}
<div class="card"><h2>Reply securely</h2>${v.repliedAt ? html`<p class="muted">You replied on ${new Date(v.repliedAt).toUTCString()}.</p>` : ''}
<form method="post" action="${base}/reply" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="text">Your reply to ${m.fromName || m.fromAddress}</label><textarea id="text" name="text" required></textarea>
<label for="files">Attachments (up to ${v.maxAttachments})</label><input type="file" id="files" name="attachment" multiple>
<p><button type="submit">Send secure reply</button></p></form></div>
<form method="post" action="${base}/logout" class="inline"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit" class="secondary">Sign out</button></form>`,
  );
}

/** The document inside the sandboxed frame: sanitised markup and nothing the page itself relies on. */
export function contentDocument(sanitized: SafeHtml): string {
  return html`<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{margin:8px;font:16px/1.5 system-ui,sans-serif;color:#1f2328;word-wrap:break-word}img{max-width:100%;height:auto}</style></head><body>${sanitized}</body></html>`
    .value;
}

export function replySentPage(token: string): string {
  return layout(
    'Reply sent',
    html`<div class="card"><h1>Your reply was sent</h1><p>It goes to the sender over the same secure channel.</p>
<p><a class="button" href="/m/${token}">Back to the message</a></p></div>`,
  );
}

export function signedOutPage(token: string): string {
  return layout('Signed out', html`<div class="card"><h1>You are signed out</h1><p><a class="button" href="/m/${token}">Open the message again</a></p></div>`);
}
