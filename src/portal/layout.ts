import { CATALOGUES, LOCALES, type MessageKey, t } from '../i18n/index.js';
import { DEFAULT_ACCENT } from '../secure/brand-colour.js';
import { html, SafeHtml } from '../web/html.js';
import type { Look } from './page-look.js';

type HtmlParam = string | number | SafeHtml;

/** A catalogue text as markup: the text is escaped, and each `{name}` is replaced by its parameter (escaped unless it is markup itself). */
export function th(look: Pick<Look, 'locale'>, key: MessageKey, params: Readonly<Record<string, HtmlParam>> = {}): SafeHtml {
  const parts = CATALOGUES[look.locale][key].split(/(\{\w+\})/);
  return html`${parts.map((part) => {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    const value = name === undefined ? undefined : params[name];
    return value === undefined ? part : html`${value}`;
  })}`;
}

/**
 * One small stylesheet inline (the page's CSP allows inline style, nothing else): the system's
 * own sans-serif, readable on a 390 px phone, big tap targets, a visible keyboard focus. The
 * accent is the organisation's colour, checked at 4.5:1 against white when it was set.
 */
function style(accent: string): string {
  return `
:root{--accent:${accent}}
*{box-sizing:border-box}
body{margin:0;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","Liberation Sans",Arial,sans-serif;color:#1f2328;background:#f4f5f7;-webkit-text-size-adjust:100%}
header.brand{background:#fff;border-top:4px solid var(--accent);box-shadow:0 1px 3px rgba(0,0,0,.08)}
header.brand div{max-width:44rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;justify-content:space-between}
.org{display:flex;align-items:center;gap:.6rem;font-weight:700;font-size:1.05rem;min-width:0}
.org img{max-height:40px;max-width:160px;width:auto;height:auto}
nav.lang ul{display:flex;gap:.25rem;list-style:none;margin:0;padding:0;flex-wrap:wrap}
nav.lang a{display:inline-block;padding:.35rem .55rem;min-height:44px;line-height:1.9;border-radius:6px;color:#1f2328;text-decoration:none;font-size:.95rem}
nav.lang a[aria-current]{background:#e7eaf0;font-weight:700}
main{max-width:44rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:12px;padding:1.25rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:0 0 .5rem}
p{margin:.5rem 0}.muted{color:#59636e;font-size:.95rem}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button,.button{display:inline-block;min-height:48px;padding:.7rem 1.3rem;border:0;border-radius:8px;background:var(--accent);color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
button.secondary{background:#e7eaf0;color:#1f2328}
input[type=text],textarea{width:100%;font:inherit;padding:.7rem;border:1px solid #8b949e;border-radius:8px}
input[type=file]{max-width:100%}
input.code{font-size:1.6rem;letter-spacing:.35em;max-width:12rem;text-align:center}
textarea{min-height:9rem}label{display:block;font-weight:600;margin:.75rem 0 .35rem}
.error{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:.75rem}.notice{background:#e8f3ec;color:#1d5b34;border-radius:8px;padding:.75rem}
.blocked{background:#fff8e1;color:#5c4400;border-radius:8px;padding:.75rem;margin:0 0 .75rem}
iframe{width:100%;height:60vh;border:1px solid #d9dde3;border-radius:8px;background:#fff}
pre.text{white-space:pre-wrap;word-wrap:break-word;font:inherit;margin:0}
ul.files{list-style:none;padding:0;margin:0}ul.files li{padding:.6rem 0;border-top:1px solid #eceef1}ul.files a{font-weight:600;word-break:break-all}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem;margin:.5rem 0}dt{color:#59636e}dd{margin:0;word-break:break-word}
ol.thread{list-style:none;margin:0;padding:0}ol.thread li{border-left:4px solid var(--accent);padding:.25rem 0 .25rem .9rem;margin:0 0 1rem}
form.inline{display:inline}
`;
}

function languageSwitch(look: Look): SafeHtml {
  const items = LOCALES.map((locale) => {
    const current = locale === look.locale;
    return html`<li><a href="${look.path}?lang=${locale}" lang="${locale}" hreflang="${locale}"${current ? html` aria-current="true"` : ''}>${CATALOGUES[locale]['language.name']}</a></li>`;
  });
  return html`<nav class="lang" aria-label="${t(look.locale, 'language.switch')}"><ul>${items}</ul></nav>`;
}

function brandBar(look: Look): SafeHtml {
  const name = look.brand.name ?? t(look.locale, 'portal.name');
  const logo = look.brand.logo
    ? html`<img src="/m/brand/${look.brand.organisationId}/logo?v=${look.brand.logo.version}" alt="${t(look.locale, 'portal.logoAlt', { name })}">`
    : '';
  return html`<header class="brand"><div><span class="org">${logo}<span>${name}</span></span>${languageSwitch(look)}</div></header>`;
}

export function layout(look: Look, title: string, body: SafeHtml): string {
  const heading = look.brand.name ? `${title} – ${look.brand.name}` : title;
  return html`<!doctype html>
<html lang="${look.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${heading}</title><style>${new SafeHtml(style(/^#[0-9a-f]{6}$/.test(look.brand.colour ?? '') ? (look.brand.colour as string) : DEFAULT_ACCENT))}</style></head>
<body>${brandBar(look)}<main>${body}</main></body></html>`.value;
}

export function errorPage(look: Look, title: MessageKey, text: MessageKey, link?: { href: string; label: MessageKey }): string {
  const heading = t(look.locale, title);
  const action = link ? html`<p><a class="button" href="${link.href}">${t(look.locale, link.label)}</a></p>` : '';
  return layout(look, heading, html`<div class="card"><h1>${heading}</h1><p>${t(look.locale, text)}</p>${action}</div>`);
}
