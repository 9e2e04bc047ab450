import type { FastifyInstance, FastifyReply } from 'fastify';
import type { InboundTarget } from '../../directory/inbound-targets.js';
import { DirectoryError } from '../../model/directory-error.js';
import { html } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { attempt, type FormBody, type FormState, field } from './form-fields.js';
import { flashOf, withDone } from './format.js';
import { OVERLAPS, rotateForm, secretBody, setForm, targetTable, valuesOf } from './inbound-views.js';
import { SecretReveal } from './secret-reveal.js';

const FLASH = {
  enabled: 'The inbound target was enabled; the mail that waited for it is being delivered.',
  saved: 'The inbound target was saved.',
  removed: 'The inbound target was removed.',
};

/** '' in a form is the organisation's default target. */
const scopeOf = (value: string) => (value === '' ? undefined : value);

/**
 * /console/inbound: where inbound mail goes, and whether it is going there: the default target
 * and each domain's own, set and changed here with the checks of the API (inbound-target-input.ts),
 * the webhook's signing secret rotated and shown once. A target whose webhook answered 410 Gone
 * is shown disabled, with the answer, and enabled again here.
 */
export function registerInboundPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const targets = deps.services.inboundTargets;
  const reveal = new SecretReveal(deps.clock);
  const page = async (signed: Signed, forms: { set?: FormState; rotate?: FormState; enable?: FormState }, done?: string, editing?: string) => {
    const items = await targets.list();
    const domains = (await deps.services.domains.list({ limit: 500, offset: 0 })).items.map((d) => d.name);
    const current = editing === undefined ? undefined : items.find((t) => (t.domain ?? '') === editing);
    const set = forms.set ?? { values: current ? valuesOf(current) : { domain: editing ?? '', kind: 'webhook', synchronous: 'off' } };
    return layout({
      title: 'Inbound targets',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'inbound',
      flash: flashOf(FLASH, done),
      body: html`<p>Inbound mail for the organisation's domains goes to a signed webhook or is forwarded: one default target, and one per domain that needs its own.</p>
${forms.enable?.error ? html`<p class="form-error" role="alert">${forms.enable.error.message}</p>` : ''}${targetTable(items, signed.csrf, deps.clock.now())}
<h2 id="set">Set a target</h2><p>Choose the default or a domain; a target that exists is replaced, and a disabled one is enabled.</p>${setForm(signed.csrf, set, domains)}
<h2 id="rotate">Rotate a signing secret</h2>${rotateForm(
        signed.csrf,
        forms.rotate ?? { values: { overlap: '1d' } },
        items.filter((t) => t.kind === 'webhook'),
      )}`,
    });
  };

  /** Holds a new secret for the page after the redirect, which shows it once. */
  const revealed = (reply: FastifyReply, signed: Signed, target: InboundTarget, secret: string | null) => {
    if (secret === null) return reply.redirect(withDone('/console/inbound', 'saved'), 303);
    reveal.hold(target.id, signed.session.id, secret);
    return reply.redirect(`/console/inbound/${encodeURIComponent(target.id)}/secret`, 303);
  };

  app.get<{ Querystring: { done?: string; for?: string } }>('/inbound', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await page(signed, {}, request.query.done, request.query.for));
  });

  app.post<{ Body: FormBody }>('/inbound', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = Object.fromEntries(['domain', 'kind', 'url', 'forwardTo', 'synchronous'].map((name) => [name, field(request.body, name).trim()]));
    // A field left empty is not given, as the API's optional fields are not; the checks are the API's.
    const input = {
      domain: scopeOf(values.domain ?? ''),
      kind: values.kind ?? '',
      ...(values.url ? { url: values.url } : {}),
      ...(values.forwardTo ? { forwardTo: values.forwardTo } : {}),
      synchronous: values.synchronous === 'on',
    };
    const result = await attempt(
      reply,
      values,
      () => targets.set(input, signed.actor),
      (set) => page(signed, { set }),
    );
    return result.ok ? revealed(reply, signed, result.value.target, result.value.secret) : result.reply;
  });

  app.post<{ Body: FormBody }>('/inbound/rotate', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = { domain: field(request.body, 'domain'), overlap: field(request.body, 'overlap') };
    const result = await attempt(
      reply,
      values,
      async () => {
        const overlap = OVERLAPS[values.overlap];
        if (!overlap) throw new DirectoryError('invalid', 'choose how long the previous secret keeps signing', 'overlap');
        return targets.rotateSecret(scopeOf(values.domain), overlap.ms, signed.actor);
      },
      (rotate) => page(signed, { rotate }),
    );
    return result.ok ? revealed(reply, signed, result.value.target, result.value.secret) : result.reply;
  });

  app.get<{ Params: { id: string } }>('/inbound/:id/secret', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const target = (await targets.list()).find((t) => t.id === request.params.id);
    if (!target) return reply.redirect('/console/inbound', 303);
    const secret = reveal.take(target.id, signed.session.id);
    reply.header('cache-control', 'no-store');
    const title = secret ? 'New signing secret' : 'Signing secret';
    return sendPage(reply, 200, layout({ title, admin: signed.admin, csrf: signed.csrf, active: 'inbound', body: secretBody(target, secret) }));
  });

  app.post<{ Body: { domain?: string } }>('/inbound/enable', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const domain = typeof request.body?.domain === 'string' && request.body.domain !== '' ? request.body.domain : undefined;
    const result = await attempt(
      reply,
      {},
      () => targets.enable(domain, signed.actor),
      (enable) => page(signed, { enable }),
    );
    return result.ok ? reply.redirect(withDone('/console/inbound', 'enabled'), 303) : result.reply;
  });

  app.get<{ Querystring: { for?: string } }>('/inbound/remove', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const scope = request.query.for ?? '';
    const which = scope === '' ? "the organisation's default target" : `the target of ${scope}`;
    const consequence =
      scope === ''
        ? 'inbound mail of domains without their own target then waits in the queue'
        : `mail for ${scope} then goes to the default target, if one is set`;
    const body = html`<p>Remove ${which}? ${consequence[0]?.toUpperCase()}${consequence.slice(1)}.</p>
<form method="post" action="/console/inbound/remove">${csrfField(signed.csrf)}<input type="hidden" name="domain" value="${scope}">
<button type="submit" class="danger">Remove the target</button> <a class="button secondary" href="/console/inbound">Cancel</a></form>`;
    return sendPage(reply, 200, layout({ title: 'Remove an inbound target', admin: signed.admin, csrf: signed.csrf, active: 'inbound', body }));
  });

  app.post<{ Body: FormBody }>('/inbound/remove', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const result = await attempt(
      reply,
      {},
      () => targets.remove(scopeOf(field(request.body, 'domain')), signed.actor),
      (enable) => page(signed, { enable }),
    );
    return result.ok ? reply.redirect(withDone('/console/inbound', 'removed'), 303) : result.reply;
  });
}
