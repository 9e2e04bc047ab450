import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiToken } from '../../directory/api-tokens.js';
import { TOKEN_SCOPES, type TokenScope } from '../../directory/token-scopes.js';
import { html, type SafeHtml } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { copyable, csrfField, layout } from '../layout.js';
import { attempt, type FormBody, type FormState, field, inputField, problemSummary, selectField } from './form-fields.js';
import { flashOf, when, withDone } from './format.js';
import { SecretReveal } from './secret-reveal.js';

const FLASH = { revoked: 'The token was revoked: its next request is refused with 401.' };
const SCOPES: readonly { value: TokenScope; label: string }[] = [
  { value: 'admin', label: 'admin: the admin API (/api/v1)' },
  { value: 'scim', label: 'scim: directory provisioning only (/scim/v2)' },
];

const tokenPath = (id: string) => `/console/tokens/${encodeURIComponent(id)}`;

type IdParams = { Params: { id: string } };

/**
 * /console/tokens: the bearer tokens of the admin API and of SCIM, as `relaygate token`
 * manages them: the same service, so the same checks and the same audit records, under the
 * administrator's name. A new token's secret is shown once, after the redirect (secret-reveal.ts).
 */
export function registerTokenPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const tokens = deps.services.tokens;
  const reveal = new SecretReveal(deps.clock);
  const page = (signed: Signed, title: string, body: SafeHtml, flash?: ReturnType<typeof flashOf>) =>
    layout({ title, admin: signed.admin, csrf: signed.csrf, active: 'tokens', body, flash });
  const all = async () => (await tokens.list({ limit: 500, offset: 0 })).items;

  const listPage = async (signed: Signed, form: FormState, done?: string) =>
    page(
      signed,
      'API tokens',
      html`<p>Scripts and provisioning clients authenticate to the gateway with a bearer token (<code>Authorization: Bearer …</code>).
A token's secret is shown once, when created; the gateway keeps only a keyed hash of it.</p>${tokenTable(await all())}
<h2 id="create">Create a token</h2>${createForm(signed.csrf, form)}`,
      flashOf(FLASH, done),
    );

  /** The token, or the 404 page sent. */
  const found = async (reply: FastifyReply, id: string): Promise<ApiToken | undefined> => {
    const token = (await all()).find((t) => t.id === id);
    if (!token)
      sendPage(reply, 404, layout({ title: 'Token not found', body: html`<p>No API token ${id}.</p><p><a href="/console/tokens">All tokens</a></p>` }));
    return token;
  };

  app.get<{ Querystring: { done?: string } }>('/tokens', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await listPage(signed, { values: { scope: 'admin' } }, request.query.done));
  });

  app.post<{ Body: FormBody }>('/tokens', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = { description: field(request.body, 'description'), scope: field(request.body, 'scope') };
    const result = await attempt(
      reply,
      values,
      () => tokens.create(values.description, signed.actor, values.scope as TokenScope),
      (state) => listPage(signed, state),
    );
    if (!result.ok) return result.reply;
    reveal.hold(result.value.token.id, signed.session.id, result.value.secret);
    return reply.redirect(`${tokenPath(result.value.token.id)}/created`, 303);
  });

  app.get<IdParams>('/tokens/:id/created', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const token = await found(reply, request.params.id);
    if (!token) return reply;
    const secret = reveal.take(token.id, signed.session.id);
    reply.header('cache-control', 'no-store');
    return sendPage(reply, 200, page(signed, secret ? 'Token created' : `Token ${token.description}`, secretBody(token, secret, deps.publicUrl())));
  });

  app.get<IdParams>('/tokens/:id/revoke', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const token = await found(reply, request.params.id);
    if (!token) return reply;
    const body = html`<p>Revoke the ${token.scope} token <strong>${token.description}</strong> (<code>${token.id}</code>)? Its next request is refused:
whatever uses it stops at once. This cannot be undone.</p>
<form method="post" action="${tokenPath(token.id)}/revoke">${csrfField(signed.csrf)}<button type="submit" class="danger">Revoke the token</button>
<a class="button secondary" href="/console/tokens">Cancel</a></form>`;
    return sendPage(reply, 200, page(signed, 'Revoke a token', body));
  });

  app.post<IdParams>('/tokens/:id/revoke', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const token = await found(reply, request.params.id);
    if (!token) return reply;
    await tokens.revoke(token.id, signed.actor);
    return reply.redirect(withDone('/console/tokens', 'revoked'), 303);
  });
}

function tokenTable(items: ApiToken[]): SafeHtml {
  if (items.length === 0) return html`<p>No API token yet.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">API tokens (their secrets are never shown here)</caption>
<thead><tr><th scope="col">Token</th><th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
<tbody>${items.map(
    (t) => html`<tr><th scope="row">${t.description}<br><code>${t.id}</code></th><td>${t.scope}</td><td>${when(t.createdAt)}</td>
<td>${when(t.lastUsedAt)}${t.lastUsedIp ? html`<br>from <code>${t.lastUsedIp}</code>` : ''}</td>
<td>${t.revokedAt === null ? html`<span class="badge pass">active</span>` : html`<span class="badge fail">revoked</span> ${when(t.revokedAt)}`}</td>
<td>${t.revokedAt === null ? html`<a href="${tokenPath(t.id)}/revoke" aria-label="Revoke the token ${t.description}">Revoke…</a>` : ''}</td></tr>`,
  )}</tbody></table></div>`;
}

function createForm(csrf: string, form: FormState): SafeHtml {
  const state = form.values.scope && TOKEN_SCOPES.includes(form.values.scope as TokenScope) ? form : { ...form, values: { ...form.values, scope: 'admin' } };
  return html`<form method="post" action="/console/tokens" class="card" novalidate>${csrfField(csrf)}${problemSummary(state, ['description', 'scope'])}
${inputField(state, { form: 'token', name: 'description', label: 'Description', required: true, hint: 'What will use it, e.g. "Terraform" or "Entra ID provisioning".' })}
${selectField(state, { form: 'token', name: 'scope', label: 'Scope', options: SCOPES, hint: 'A SCIM token opens /scim/v2 and nothing else.' })}
<p><button type="submit">Create the token</button></p></form>`;
}

function secretBody(t: ApiToken, secret: string | undefined, publicUrl: string): SafeHtml {
  const path = t.scope === 'scim' ? '/scim/v2' : '/api/v1';
  const back = html`<p><a href="/console/tokens">All tokens</a></p>`;
  if (!secret)
    return html`<div class="card" role="status"><p>The secret of this token was shown once, when it was created, and is not shown again.
If it was not copied, create a new token and revoke this one.</p></div>${back}`;
  return html`<div class="card warning" role="alert"><p><strong>Copy the token now: it is shown only this once.</strong> The gateway keeps only a keyed hash of it
and cannot show it again.</p></div>
<dl><dt>Token</dt><dd><span class="secret">${copyable(secret, 'token')}</span></dd><dt>Scope</dt><dd>${t.scope}</dd>
<dt>Use it as</dt><dd><code>Authorization: Bearer …</code> on ${copyable(`${publicUrl.replace(/\/$/, '')}${path}`, 'API address')}</dd></dl>${back}`;
}
