import { html, type SafeHtml } from '../web/html.js';
import type { Admin } from './admin-accounts.js';

export type NavKey = 'dashboard' | 'domains' | 'credentials' | 'routes' | 'connections' | 'inbound' | 'secure' | 'messages' | 'audit' | 'sandbox' | 'tokens';

const NAV: { key: NavKey; href: string; label: string }[] = [
  { key: 'dashboard', href: '/console', label: 'Dashboard' },
  { key: 'domains', href: '/console/domains', label: 'Domains' },
  { key: 'credentials', href: '/console/credentials', label: 'Credentials' },
  { key: 'routes', href: '/console/routes', label: 'Routes' },
  { key: 'connections', href: '/console/connections', label: 'Connections' },
  { key: 'inbound', href: '/console/inbound', label: 'Inbound' },
  { key: 'secure', href: '/console/secure-messages', label: 'Secure messages' },
  { key: 'messages', href: '/console/messages', label: 'Messages' },
  { key: 'audit', href: '/console/audit', label: 'Audit log' },
  { key: 'sandbox', href: '/console/sandbox', label: 'Sandbox' },
  { key: 'tokens', href: '/console/tokens', label: 'API tokens' },
];

export interface Page {
  title: string;
  body: SafeHtml;
  /** The signed-in administrator; absent on the sign-in pages (no navigation then). */
  admin?: Admin | undefined;
  /** The CSRF token every form of the page carries. */
  csrf?: string | undefined;
  active?: NavKey | undefined;
  /** A one-line outcome of the last action, shown on top. */
  flash?: { kind: 'ok' | 'error'; text: string } | undefined;
}

/**
 * Every console page: a skip link, the navigation (the current page marked for screen
 * readers), the outcome of the last action as a live region, then the page. Styles and the
 * small script come from the gateway itself; nothing is loaded from elsewhere.
 */
export function layout(page: Page): string {
  const nav = page.admin
    ? html`<header class="top"><a class="brand" href="/console">Relaygate</a>
<nav aria-label="Main"><ul>${NAV.map(
        (n) => html`<li><a href="${n.href}"${page.active === n.key ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
      )}</ul></nav>
<form method="post" action="/console/sign-out" class="signout"><input type="hidden" name="csrf" value="${page.csrf ?? ''}">
<span class="who">${page.admin.email}</span> <button type="submit" class="link">Sign out</button></form></header>`
    : html`<header class="top"><span class="brand">Relaygate</span></header>`;
  const flash = page.flash ? html`<p class="flash ${page.flash.kind}" role="${page.flash.kind === 'error' ? 'alert' : 'status'}">${page.flash.text}</p>` : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · Relaygate</title><link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>${nav}<main id="main" tabindex="-1"><h1>${page.title}</h1>${flash}${page.body}</main></body></html>`
    .value;
}

/** A hidden CSRF field, for the forms pages write. */
export function csrfField(csrf: string | undefined): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf ?? ''}">`;
}

/** A value with a copy button (the button appears only where the script runs; the value is selectable anyway). */
export function copyable(value: string, label: string): SafeHtml {
  return html`<span class="copyable"><code>${value}</code> <button type="button" class="copy" data-copy="${value}" aria-label="Copy ${label}" hidden>Copy</button></span>`;
}

/** pass / warn / fail / info badge, with the word in it (colour is never the only signal). */
export function badge(status: string): SafeHtml {
  return html`<span class="badge ${status}">${status}</span>`;
}
