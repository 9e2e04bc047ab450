import { html, type SafeHtml } from '../../web/html.js';
import type { Page } from '../layout.js';

/** A moment as the operator reads it (UTC, to the second), machine-readable in `datetime`. */
export function when(ms: number | null | undefined): SafeHtml {
  if (ms === null || ms === undefined) return html`<span class="muted">never</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

export const domainPath = (name: string) => `/console/domains/${encodeURIComponent(name)}`;
export const credentialPath = (id: string) => `/console/credentials/${encodeURIComponent(id)}`;
export const connectionPath = (id: string) => `/console/connections/${encodeURIComponent(id)}`;

/**
 * The outcome of the last action, from the `done` query of the redirect after it: a fixed
 * text per key, so nothing typed into a URL is ever shown as the console's own words.
 */
export function flashOf(texts: Record<string, string>, done: string | undefined): Page['flash'] {
  const text = done === undefined ? undefined : texts[done];
  return text ? { kind: 'ok', text } : undefined;
}

/** Path with a `done` key for the page redirected to. */
export function withDone(path: string, done: string, anchor = ''): string {
  return `${path}${path.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}${anchor}`;
}
