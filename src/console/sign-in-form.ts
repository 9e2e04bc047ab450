import type { FastifyRequest } from 'fastify';

/** Longer than any address (RFC 5321 §4.5.3.1.3 path: 256) or passphrase a person types: beyond, the form is not one of ours. */
const MAX_FIELD_CHARS = { email: 320, password: 1024, csrf: 100, next: 2048 } as const;
export type SignInField = keyof typeof MAX_FIELD_CHARS;

export type SignInForm = { ok: true; fields: Record<SignInField, string> } | { ok: false; problem: string };

/**
 * The sign-in form exactly as the page sends it: URL-encoded, each field once, as text of a
 * sane length. Anything else (a field twice, an array, JSON, a missing field) is named back
 * to the sender with a 400 rather than reaching the account code as an unexpected shape.
 */
export function readSignInForm(request: FastifyRequest): SignInForm {
  const type = String(request.headers['content-type'] ?? '');
  if (!/^application\/x-www-form-urlencoded\b/i.test(type))
    return { ok: false, problem: 'The sign-in form must be sent as application/x-www-form-urlencoded, as the form on this page does.' };
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, problem: 'The sign-in form is empty.' };
  const fields = {} as Record<SignInField, string>;
  for (const name of Object.keys(MAX_FIELD_CHARS) as SignInField[]) {
    const value = (body as Record<string, unknown>)[name];
    if (Array.isArray(value)) return { ok: false, problem: `The ${name} field was sent more than once.` };
    if (value === undefined) {
      if (name === 'next') continue;
      return { ok: false, problem: `The ${name} field is missing.` };
    }
    if (typeof value !== 'string') return { ok: false, problem: `The ${name} field is not text.` };
    if (value.length > MAX_FIELD_CHARS[name]) return { ok: false, problem: `The ${name} field is longer than ${MAX_FIELD_CHARS[name]} characters.` };
    fields[name] = value;
  }
  fields.next ??= '';
  return { ok: true, fields };
}
