import assert from 'node:assert/strict';
import type { PortalLab } from './secure.js';

/** A browser without JavaScript, as far as the portal can tell: forms, redirects by hand, one cookie jar. */
export class PortalClient {
  cookies = new Map<string, string>();
  setCookies: string[] = [];
  constructor(readonly link: string) {}

  get origin(): string {
    return new URL(this.link).origin;
  }

  async request(path: string, init: { method?: string; body?: string | FormData; headers?: Record<string, string> } = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(new URL(path, this.link), {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    this.setCookies = response.headers.getSetCookie();
    for (const line of this.setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(line) || value === '') this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  page(suffix = '') {
    return this.request(`${new URL(this.link).pathname}${suffix}`);
  }

  post(suffix: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request(`${new URL(this.link).pathname}${suffix}`, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers },
    });
  }

  async csrf(suffix = ''): Promise<string> {
    const { text } = await this.page(suffix);
    const token = /name="csrf" value="([^"]+)"/.exec(text)?.[1];
    if (!token) throw new Error(`no CSRF token in:\n${text}`);
    return token;
  }

  /** Asks for a code, reads it from the sink, enters it. */
  async signIn(lab: PortalLab, recipient: string): Promise<void> {
    const before = lab.sink.messages.length;
    assert.equal((await this.post('/code', { csrf: await this.csrf() })).status, 303);
    const code = await lab.codeFor(recipient, before);
    const verified = await this.post('/verify', { csrf: await this.csrf(), code });
    assert.equal(verified.status, 303, verified.text);
  }
}
