import { html } from '../../web/html.js';
import type { Signed } from '../console-auth.js';
import { csrfField, layout, type NavKey } from '../layout.js';
import { type FormBody, field } from './form-fields.js';

/** The form a change posts, to post again once confirmed: where, with what, and how to name it on the page. */
export interface ConfirmForm {
  action: string;
  values: Record<string, string>;
  /** The change in words, e.g. "Remove the route secure.example.com → secure". */
  change: string;
  /** The button that goes ahead, e.g. "Remove the route". */
  confirmLabel: string;
  /** Where Cancel leads, unchanged. */
  cancel: string;
  active: NavKey;
}

/** Whether the posted form carries the confirmation of the page below. */
export const confirmedIn = (body: FormBody): boolean => field(body, 'confirm') === 'yes';

/**
 * The page a change refused with ConfirmationRequired answers with: what would happen, then
 * Confirm (the same form posted again, confirmed, under the CSRF token) and Cancel (a link:
 * nothing changes). The change happens only on Confirm.
 */
export function confirmationPage(signed: Signed, form: ConfirmForm, consequence: string): string {
  const sentence = `${consequence[0]?.toUpperCase() ?? ''}${consequence.slice(1)}.`;
  return layout({
    title: 'Confirm the change',
    admin: signed.admin,
    csrf: signed.csrf,
    active: form.active,
    body: html`<p>${form.change}.</p>
<p class="form-error" role="alert" id="consequence"><strong>${sentence}</strong></p>
<p>Nothing has changed yet.</p>
<form method="post" action="${form.action}">${csrfField(signed.csrf)}${Object.entries(form.values).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
    )}<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger">${form.confirmLabel}</button> <a class="button secondary" href="${form.cancel}">Cancel</a></form>`,
  });
}
