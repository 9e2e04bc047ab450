import { html, type SafeHtml } from '../../web/html.js';

/** `2025-01-31 14:05:09 UTC`: one zone for every administrator, as the logs and the CLI write it. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `<time>` element: the readable UTC text, the exact instant for machines. */
export function timeEl(ms: number | null | undefined): SafeHtml {
  if (ms === null || ms === undefined) return html`<span class="muted">–</span>`;
  return html`<time datetime="${new Date(ms).toISOString()}">${formatTime(ms)}</time>`;
}

/** 950 ms, 12 s, 4 min, 3 h 20 min, 2 d 4 h: a duration as an administrator reads it. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export interface Paging {
  limit: number;
  offset: number;
}

/** `?page=N` (1-based) to limit/offset; anything unreadable is the first page. */
export function paging(page: string | undefined, limit: number): Paging {
  const n = Number(page);
  return { limit, offset: Number.isInteger(n) && n > 1 ? (n - 1) * limit : 0 };
}

/**
 * "Showing 51–100 of 230" and previous/next links that keep the filters. `query` holds the
 * filters only; the page number is added here.
 */
export function pager(base: string, query: Record<string, string | undefined>, page: Paging, total: number, noun: string): SafeHtml {
  if (total === 0) return html``;
  const current = Math.floor(page.offset / page.limit) + 1;
  const last = Math.max(1, Math.ceil(total / page.limit));
  const href = (n: number) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    if (n > 1) params.set('page', String(n));
    const text = params.toString();
    return text ? `${base}?${text}` : base;
  };
  const from = page.offset + 1;
  const to = Math.min(page.offset + page.limit, total);
  return html`<nav class="pager" aria-label="Pages of ${noun}"><p>Showing ${from}–${to} of ${total} ${noun}.
${current > 1 ? html`<a href="${href(current - 1)}" rel="prev">Newer</a>` : ''}
${current < last ? html`<a href="${href(current + 1)}" rel="next">Older</a>` : ''}</p></nav>`;
}

/** A query string value as one trimmed string (a repeated parameter counts once), or undefined when empty. */
export function queryText(value: unknown, maxLength = 200): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  const text = first.trim().slice(0, maxLength);
  return text === '' ? undefined : text;
}
