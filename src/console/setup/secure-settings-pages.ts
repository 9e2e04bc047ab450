import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { CATALOGUES, LOCALES } from '../../i18n/index.js';
import { DEFAULT_ORGANISATION_ID } from '../../model/organisation.js';
import { MAX_LOGO_BYTES } from '../../secure/brand-logo.js';
import { MAX_RETENTION_DAYS, type SecureSettings } from '../../secure/secure-settings.js';
import { html } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { attempt, EMPTY_FORM, type FormBody, type FormState, field, inputField, problemSummary, selectField } from './form-fields.js';
import { flashOf, withDone } from './format.js';

/** Room above the logo limit, so that a logo a little too large is refused by the service, which says by how much. */
const UPLOAD_LIMIT_BYTES = 1024 * 1024;

const FLASH = { saved: 'The settings were saved.', logo: 'The logo was saved.', 'logo-removed': 'The logo was removed.' };
const SETTINGS_FIELDS = ['locale', 'timeZone', 'brandName', 'brandColour', 'retentionDays', 'readReceipts', 'readReceiptFormat', 'neutralSubject'];
const RECEIPT_FORMATS = [
  { value: 'text', label: 'a mail for people' },
  { value: 'mdn', label: 'RFC 8098 disposition notification (for applications)' },
];
const ON_OFF = [
  { value: 'off', label: 'off' },
  { value: 'on', label: 'on' },
];

function valuesOf(s: SecureSettings): Record<string, string> {
  return {
    locale: s.locale,
    timeZone: s.timeZone,
    brandName: s.brandName ?? '',
    brandColour: s.brandColour ?? '',
    retentionDays: String(s.retentionDays),
    readReceipts: s.readReceipts ? 'on' : 'off',
    readReceiptFormat: s.readReceiptFormat,
    neutralSubject: s.neutralSubject ? 'on' : 'off',
  };
}

/**
 * /console/secure: the organisation's settings for secure messages, with the language and the
 * branding recipients see (issue 22). The logo is a file, so its form is multipart, parsed only
 * on its own route; the checks are the service's, as for the API and the CLI.
 */
export function registerSecureSettingsPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const service = deps.services.secureSettings;
  const page = async (signed: Signed, forms: { settings?: FormState; logo?: FormState }, done?: string) => {
    const settings = await service.get();
    const state = forms.settings ?? { values: valuesOf(settings) };
    const logoState = forms.logo ?? EMPTY_FORM;
    const logo = settings.brandLogo
      ? html`<p><img class="brand-logo" src="/m/brand/${DEFAULT_ORGANISATION_ID}/logo?v=${settings.brandLogo.sha256.slice(0, 16)}" alt="The current logo" height="48"> ${settings.brandLogo.type}, ${settings.brandLogo.sizeBytes} bytes</p>
<form method="post" action="/console/secure/logo/remove">${csrfField(signed.csrf)}<button type="submit" class="secondary">Remove the logo</button></form>`
      : html`<p>No logo: the portal shows the organisation's name alone.</p>`;
    return layout({
      title: 'Settings for secure messages',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'secure',
      flash: flashOf(FLASH, done),
      body: html`<p>How recipients see secure messages: the portal, the notification and the one-time code mail. The messages sent, and each recipient's state: <a href="/console/secure-messages">the list of sent messages</a>.</p>
<form method="post" action="/console/secure" class="card">${csrfField(signed.csrf)}${problemSummary(state, SETTINGS_FIELDS)}
${selectField(state, {
  form: 'secure',
  name: 'locale',
  label: 'Language of recipient mails',
  hint: "Used when the message's Content-Language names none of these. The portal follows the reader's browser, with a switch.",
  options: LOCALES.map((l) => ({ value: l, label: `${CATALOGUES[l]['language.name']} (${l})` })),
})}
${inputField(state, { form: 'secure', name: 'timeZone', label: 'Time zone of dates', hint: 'An IANA time zone, e.g. Europe/Amsterdam; the portal cannot learn the reader’s own.' })}
${inputField(state, { form: 'secure', name: 'brandName', label: 'Organisation name', hint: 'Shown on the portal and in notifications; empty for none. At most 80 characters.' })}
${inputField(state, {
  form: 'secure',
  name: 'brandColour',
  label: 'Accent colour',
  placeholder: '#1d4ed8',
  hint: 'As #RRGGBB, for buttons and links; white text on it must reach a contrast of 4.5:1. Empty for the default blue.',
})}
${inputField(state, { form: 'secure', name: 'retentionDays', type: 'number', min: 1, max: MAX_RETENTION_DAYS, label: 'Retention (days)', hint: 'For messages accepted from now on.' })}
${selectField(state, { form: 'secure', name: 'readReceipts', label: 'Read receipts to the sender', options: ON_OFF })}
${selectField(state, { form: 'secure', name: 'readReceiptFormat', label: 'Read receipt format', options: RECEIPT_FORMATS })}
${selectField(state, { form: 'secure', name: 'neutralSubject', label: 'Neutral subject in notifications', options: ON_OFF })}
<p><button type="submit">Save</button></p></form>
<h2 id="logo">Logo</h2><div class="card">${logo}
<form method="post" action="/console/secure/logo" enctype="multipart/form-data">${csrfField(signed.csrf)}${problemSummary(logoState, ['brandLogo'])}
<div class="field"><label for="logo-file">Logo file</label><p class="hint" id="logo-file-hint">A PNG, or an SVG without script, event handlers or outside references; at most ${MAX_LOGO_BYTES / 1024} KiB.</p>
<input type="file" id="logo-file" name="brandLogo" accept="image/png,image/svg+xml" aria-describedby="logo-file-hint" required${logoState.error ? html` aria-invalid="true"` : ''}>
${logoState.error ? html`<p class="field-error">${logoState.error.message}</p>` : ''}</div>
<p><button type="submit">Upload the logo</button></p></form></div>`,
    });
  };

  app.get<{ Querystring: { done?: string } }>('/secure', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await page(signed, {}, request.query.done));
  });

  app.post<{ Body: FormBody }>('/secure', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = Object.fromEntries(SETTINGS_FIELDS.map((name) => [name, field(request.body, name).trim()]));
    const result = await attempt(
      reply,
      values,
      () =>
        service.update(
          {
            locale: values.locale,
            timeZone: values.timeZone,
            brandName: values.brandName,
            brandColour: values.brandColour || null,
            retentionDays: Number(values.retentionDays),
            readReceipts: values.readReceipts === 'on',
            readReceiptFormat: values.readReceiptFormat || undefined,
            neutralSubject: values.neutralSubject === 'on',
          },
          signed.actor,
        ),
      (settings) => page(signed, { settings }),
    );
    return result.ok ? reply.redirect(withDone('/console/secure', 'saved'), 303) : result.reply;
  });

  app.post<{ Body: FormBody }>('/secure/logo/remove', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    await service.update({ brandLogo: null }, signed.actor);
    return reply.redirect(withDone('/console/secure', 'logo-removed', '#logo'), 303);
  });

  // Its own context: only this route parses multipart, with the fields on the body (the CSRF check reads it there).
  app.register(async (upload) => {
    await upload.register(multipart, { attachFieldsToBody: 'keyValues', limits: { files: 1, fileSize: UPLOAD_LIMIT_BYTES, fields: 2, parts: 3 } });
    upload.post<{ Body: { csrf?: string; brandLogo?: Buffer } }>('/secure/logo', HIDDEN, async (request, reply) => {
      const signed = await signedIn(deps, request, reply);
      if (!signed) return reply;
      const content = Buffer.isBuffer(request.body?.brandLogo) ? request.body.brandLogo : Buffer.alloc(0);
      const result = await attempt(
        reply,
        {},
        () => service.update({ brandLogo: content }, signed.actor),
        (logo) => page(signed, { logo }),
      );
      return result.ok ? reply.redirect(withDone('/console/secure', 'logo', '#logo'), 303) : result.reply;
    });
  });
}
