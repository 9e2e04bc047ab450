import type { FastifyInstance } from 'fastify';
import type { Route, RouteTest } from '../../directory/routes.js';
import { ROUTE_ACTIONS, type RouteAction } from '../../policy/route-match.js';
import { html, type SafeHtml } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { confirmationPage, confirmedIn } from './confirm-page.js';
import { attempt, EMPTY_FORM, type FormBody, type FormState, field, inputField, problemSummary, selectField } from './form-fields.js';
import { flashOf, withDone } from './format.js';

const FLASH = { added: 'The route was added.', removed: 'The route was removed; the ones after it moved up.', default: 'The default action was changed.' };

const ACTION_LABELS: Record<RouteAction, string> = {
  secure: 'secure: make a secure message',
  relay: 'relay: send as plain mail',
  reject: 'reject: refuse at MAIL FROM (550 5.7.1)',
};
const ACTION_OPTIONS = ROUTE_ACTIONS.map((a) => ({ value: a, label: ACTION_LABELS[a] }));

/** A confirmed change comes back to the routes page; Cancel leads there unchanged. */
const ROUTE_CONFIRM = { cancel: '/console/routes', active: 'routes' } as const;

interface RouteForms {
  add?: FormState;
  default?: FormState;
  remove?: FormState;
}

/** /console/routes: the rules on the sender's domain in the order they are tried, and the tester. */
export function registerRoutePages(app: FastifyInstance, deps: ConsoleDeps): void {
  const { routes } = deps.services;
  const page = async (signed: Signed, forms: RouteForms, query: { done?: string | undefined; sender?: string | undefined }) => {
    const list = await routes.list({ limit: 500, offset: 0 });
    const tested = query.sender === undefined ? undefined : await routes.test(query.sender);
    return layout({
      title: 'Routes',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'routes',
      flash: flashOf(FLASH, query.done),
      body: html`<p>Each message is routed by its envelope sender's domain: the first rule that matches wins; no match takes the default action.</p>
${forms.remove ? problemSummary(forms.remove, []) : ''}${routeTable(list.items, signed.csrf)}
<h2 id="default">Default action</h2>
<form method="post" action="/console/routes/default" class="card">${csrfField(signed.csrf)}${problemSummary(forms.default ?? EMPTY_FORM, ['action'])}
${selectField(forms.default ?? { values: { action: list.defaultAction } }, { form: 'default', name: 'action', label: 'When no rule matches', options: ACTION_OPTIONS })}
<p><button type="submit">Set the default</button></p></form>
<h2 id="tester">Which rule applies to this sender?</h2>
<form method="get" action="/console/routes#tester" class="card" role="search">
${inputField({ values: { sender: query.sender ?? '' } }, { form: 'test', name: 'sender', label: 'Envelope sender', hint: 'An address, e.g. billing@secure.example.com; empty for the null sender <>.' })}
<p><button type="submit">Test</button></p></form>${tested ? testResult(tested) : ''}
<h2 id="add">Add a route</h2>${addForm(signed.csrf, forms.add ?? EMPTY_FORM)}`,
    });
  };

  app.get<{ Querystring: { done?: string; sender?: string } }>('/routes', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await page(signed, {}, request.query));
  });

  app.post<{ Body: FormBody }>('/routes', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = {
      match: field(request.body, 'match').trim(),
      action: field(request.body, 'action'),
      position: field(request.body, 'position').trim(),
      description: field(request.body, 'description'),
    };
    const position = values.position === '' ? undefined : Number(values.position);
    const result = await attempt(
      reply,
      values,
      () =>
        routes.add({ match: values.match, action: values.action, description: values.description, position }, signed.actor, {
          confirmed: confirmedIn(request.body),
        }),
      (add) => page(signed, { add }, {}),
      async (consequence) =>
        confirmationPage(
          signed,
          {
            ...ROUTE_CONFIRM,
            action: '/console/routes',
            values,
            change: `Add the route ${values.match} → ${values.action}${position ? ` at position ${position}` : ''}`,
            confirmLabel: 'Add the route',
          },
          consequence,
        ),
    );
    return result.ok ? reply.redirect(withDone('/console/routes', 'added'), 303) : result.reply;
  });

  app.post<{ Body: FormBody }>('/routes/default', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = { action: field(request.body, 'action') };
    const result = await attempt(
      reply,
      values,
      () => routes.setDefault(values.action, signed.actor, { confirmed: confirmedIn(request.body) }),
      (state) => page(signed, { default: state }, {}),
      async (consequence) =>
        confirmationPage(
          signed,
          {
            ...ROUTE_CONFIRM,
            action: '/console/routes/default',
            values,
            change: `Set the default action to ${values.action}`,
            confirmLabel: 'Set the default',
          },
          consequence,
        ),
    );
    return result.ok ? reply.redirect(withDone('/console/routes', 'default'), 303) : result.reply;
  });

  app.post<{ Params: { id: string }; Body: FormBody }>('/routes/:id/remove', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const { id } = request.params;
    const result = await attempt(
      reply,
      {},
      () => routes.remove(id, signed.actor, { confirmed: confirmedIn(request.body) }),
      (remove) => page(signed, { remove }, {}),
      async (consequence) => {
        const route = await routes.get(id);
        const change = `Remove the route ${route.match} → ${route.action} (position ${route.position})`;
        return confirmationPage(
          signed,
          { ...ROUTE_CONFIRM, action: `/console/routes/${encodeURIComponent(id)}/remove`, values: {}, change, confirmLabel: 'Remove the route' },
          consequence,
        );
      },
    );
    return result.ok ? reply.redirect(withDone('/console/routes', 'removed'), 303) : result.reply;
  });
}

function routeTable(items: Route[], csrf: string): SafeHtml {
  if (items.length === 0) return html`<p>No rule yet: every sender takes the default action.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Routes in the order they are tried</caption>
<thead><tr><th scope="col">Position</th><th scope="col">Sender domain</th><th scope="col">Action</th><th scope="col">Description</th><th scope="col">Actions</th></tr></thead>
<tbody>${items.map(
    (r) => html`<tr><td>${r.position}</td><th scope="row"><code>${r.match}</code></th><td>${r.action}</td><td>${r.description}</td>
<td><form method="post" action="/console/routes/${encodeURIComponent(r.id)}/remove" class="inline">${csrfField(csrf)}
<button type="submit" class="danger" aria-label="Remove the route for ${r.match}">Remove</button></form></td></tr>`,
  )}</tbody></table></div>`;
}

function addForm(csrf: string, form: FormState): SafeHtml {
  return html`<form method="post" action="/console/routes" class="card" novalidate>${csrfField(csrf)}${problemSummary(form, ['match', 'action', 'position', 'description'])}
${inputField(form, { form: 'route', name: 'match', label: 'Sender domain', required: true, hint: 'secure.example.com, or *.example.com for every name below example.com (not example.com itself).' })}
${selectField(form, { form: 'route', name: 'action', label: 'Action', options: ACTION_OPTIONS })}
${inputField(form, { form: 'route', name: 'position', label: 'Position (optional)', type: 'number', min: 1, hint: '1 is tried first; at the end when empty.' })}
${inputField(form, { form: 'route', name: 'description', label: 'Description (optional)' })}
<p><button type="submit">Add the route</button></p></form>`;
}

function testResult(t: RouteTest): SafeHtml {
  const sender = t.sender === '' ? '<> (the null sender)' : t.sender;
  return html`<div class="card" id="route-test" role="status"><p>Sender <code>${sender}</code>${t.domain ? html` (domain <code>${t.domain}</code>)` : ''}:
<strong>${t.action}</strong>, ${
    t.rule
      ? html`by rule ${t.rule.position}, <code>${t.rule.match}</code>${t.rule.description ? html` (${t.rule.description})` : ''}.`
      : html`by the default action: no rule matches.`
  }</p></div>`;
}
