import type { FastifyReply } from 'fastify';
import { ConfirmationRequired, DirectoryError } from '../../model/directory-error.js';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage } from '../console-auth.js';

/** A urlencoded form as @fastify/formbody parses it: a repeated field arrives as an array. */
export type FormBody = Record<string, string | string[] | undefined> | undefined;

/** What a form shows: the values typed (kept after a refusal) and the refusal, naming its field. */
export interface FormState {
  values: Record<string, string>;
  error?: { field: string | undefined; message: string } | undefined;
}

export const EMPTY_FORM: FormState = { values: {} };

/** One field of the body as text: the first of repeated values, '' when absent. */
export function field(body: FormBody, name: string): string {
  const value = body?.[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** The refusal on a form the user filled in; `aliases.1` is shown at the `aliases` field. */
export function refused(values: Record<string, string>, err: DirectoryError): FormState {
  return { values, error: { field: err.field?.split('.')[0], message: err.message } };
}

/** The status the API answers the same refusal with (src/api/problem.ts). */
export function refusalStatus(err: DirectoryError): number {
  return { not_found: 404, conflict: 409, limit: 409, invalid: 422, unconfirmed: 409 }[err.code];
}

/**
 * Runs a form's action; a DirectoryError becomes the form shown again with the message next
 * to its field (status as the API would answer), anything else goes to the console's error page.
 * A change that needs confirming answers with the page `confirm` writes, when there is one.
 */
export async function attempt<T>(
  reply: FastifyReply,
  values: Record<string, string>,
  action: () => Promise<T>,
  rerender: (state: FormState) => Promise<string>,
  confirm?: (consequence: string) => Promise<string>,
): Promise<{ ok: true; value: T } | { ok: false; reply: FastifyReply }> {
  try {
    return { ok: true, value: await action() };
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    if (err instanceof ConfirmationRequired && confirm) return { ok: false, reply: sendPage(reply, refusalStatus(err), await confirm(err.consequence)) };
    return { ok: false, reply: sendPage(reply, refusalStatus(err), await rerender(refused(values, err))) };
  }
}

interface FieldSpec {
  /** Prefix of the element ids: unique per form on the page. */
  form: string;
  name: string;
  label: string;
  hint?: string;
  required?: boolean;
}

interface InputSpec extends FieldSpec {
  type?: 'text' | 'email' | 'number' | 'password' | 'datetime-local';
  placeholder?: string;
  autocomplete?: string;
  min?: number;
  max?: number;
}

const idOf = (spec: FieldSpec) => `${spec.form}-${spec.name}`;

function errorFor(state: FormState, name: string): string | undefined {
  return state.error && state.error.field === name ? state.error.message : undefined;
}

/** The label, hint and refusal of a field; the control gets the ids to point at. */
function around(state: FormState, spec: FieldSpec, control: (attrs: SafeHtml) => SafeHtml): SafeHtml {
  const id = idOf(spec);
  const error = errorFor(state, spec.name);
  const describedBy = [spec.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const attrs = html` id="${id}" name="${spec.name}"${spec.required ? html` required` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${
    error ? html` aria-invalid="true" autofocus` : ''
  }`;
  return html`<div class="field"><label for="${id}">${spec.label}</label>${spec.hint ? html`<p class="hint" id="${id}-hint">${spec.hint}</p>` : ''}${control(attrs)}${
    error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''
  }</div>`;
}

/** A text input that keeps what was typed, except a password, which is never sent back. */
export function inputField(state: FormState, spec: InputSpec): SafeHtml {
  const type = spec.type ?? 'text';
  const value = type === 'password' ? '' : (state.values[spec.name] ?? '');
  return around(
    state,
    spec,
    (attrs) =>
      html`<input type="${type}"${attrs} value="${value}"${spec.placeholder ? html` placeholder="${spec.placeholder}"` : ''}${
        spec.autocomplete ? html` autocomplete="${spec.autocomplete}"` : ''
      }${spec.min !== undefined ? html` min="${spec.min}"` : ''}${spec.max !== undefined ? html` max="${spec.max}"` : ''}>`,
  );
}

export function selectField(state: FormState, spec: FieldSpec & { options: readonly { value: string; label: string }[] }): SafeHtml {
  const chosen = state.values[spec.name] ?? spec.options[0]?.value;
  return around(
    state,
    spec,
    (attrs) =>
      html`<select${attrs}>${spec.options.map((o) => html`<option value="${o.value}"${o.value === chosen ? html` selected` : ''}>${o.label}</option>`)}</select>`,
  );
}

export function textareaField(state: FormState, spec: FieldSpec & { rows?: number }): SafeHtml {
  return around(state, spec, (attrs) => html`<textarea${attrs} rows="${spec.rows ?? 3}">${state.values[spec.name] ?? ''}</textarea>`);
}

/** A refusal that names no field of this form (or none at all): shown above the form. */
export function formProblem(state: FormState, fields: readonly string[]): SafeHtml {
  const error = state.error;
  if (!error || (error.field !== undefined && fields.includes(error.field))) return html``;
  return html`<p class="form-error" role="alert">${error.message}</p>`;
}

/** A form-level alert for the refusal of a field, read out when the page loads again. */
export function problemSummary(state: FormState, fields: readonly string[]): SafeHtml {
  const error = state.error;
  if (!error?.field || !fields.includes(error.field)) return formProblem(state, fields);
  return html`<p class="form-error" role="alert">Not saved: see the message at the field below.</p>`;
}
