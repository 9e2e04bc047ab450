import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Connection, ConnectionInput, ConnectionPatch, ConnectionTest } from '../../directory/connections.js';
import { DirectoryError } from '../../model/directory-error.js';
import { html } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { CONNECTION_FIELDS, connectionForm, connectionTable, testReport } from './connection-views.js';
import { attempt, EMPTY_FORM, type FormBody, type FormState, field, problemSummary, refusalStatus } from './form-fields.js';
import { connectionPath, domainPath, flashOf, withDone } from './format.js';

const FLASH = {
  created: 'The connection was added. Test it below.',
  saved: 'The connection was saved; delivery uses it within seconds.',
  removed: 'The connection was removed; its mail falls back to the global smarthost.',
};

type IdParams = { Params: { id: string } };
type Values = Record<(typeof CONNECTION_FIELDS)[number], string>;

function valuesOf(body: FormBody): Values {
  const get = (name: string) => (name === 'secret' ? field(body, name) : field(body, name).trim());
  return Object.fromEntries(CONNECTION_FIELDS.map((name) => [name, get(name)])) as Values;
}

/** The form as a new connection: empty optional fields left out, so the directory's defaults apply. */
function toInput(v: Values): ConnectionInput {
  return {
    scopeKind: v.scopeKind,
    scope: v.scope,
    host: v.host,
    ...(v.port ? { port: Number(v.port) } : {}),
    tlsMode: v.tlsMode,
    ...(v.username ? { username: v.username } : {}),
    ...(v.secret ? { secret: v.secret } : {}),
  };
}

/** The form as a change: an empty username removes the credentials, an empty secret keeps the one set. */
function toPatch(v: Values): ConnectionPatch {
  const { secret: _secret, port: _port, ...rest } = toInput(v);
  return { ...rest, port: v.port ? Number(v.port) : undefined, username: v.username || null, ...(v.secret ? { secret: v.secret } : {}) };
}

/** /console/connections: the smarthost per domain or address, and the step-by-step connection test. */
export function registerConnectionPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const { connections } = deps.services;
  const frame = (signed: Signed, title: string, body: ReturnType<typeof html>, flash?: ReturnType<typeof flashOf>) =>
    layout({ title, admin: signed.admin, csrf: signed.csrf, active: 'connections', body, flash });

  const listPage = async (signed: Signed, form: FormState, done?: string) =>
    frame(
      signed,
      'Outbound connections',
      html`<p>Mail from a domain (or one address) leaves through its own smarthost: the organisation's mail service, reached with its credentials over TLS.</p>
${connectionTable((await connections.list({ limit: 500, offset: 0 })).items)}<h2 id="create">Add an outbound connection</h2>${connectionForm(signed.csrf, form)}`,
      flashOf(FLASH, done),
    );

  const showPage = (signed: Signed, c: Connection, opts: { form?: FormState; test?: ConnectionTest; testRefused?: FormState; done?: string | undefined }) => {
    const { form = EMPTY_FORM, test, testRefused, done } = opts;
    const domain = c.scopeKind === 'domain' ? c.scope : c.scope.slice(c.scope.lastIndexOf('@') + 1);
    const values = { scopeKind: c.scopeKind, scope: c.scope, host: c.host, port: String(c.port), tlsMode: c.tlsMode, username: c.username ?? '' };
    return frame(
      signed,
      `Outbound connection for ${c.scope}`,
      html`<p><a href="/console/connections">All connections</a> · <a href="${domainPath(domain)}">The domain ${domain}</a></p>
<h2 id="test">Connection test</h2><p>Connects, negotiates TLS, checks the certificate, authenticates and quits, showing each step with the server's reply. No mail is sent.</p>
<form method="post" action="${connectionPath(c.id)}/test">${csrfField(signed.csrf)}${testRefused ? problemSummary(testRefused, []) : ''}<button type="submit">Test the connection</button></form>${test ? testReport(test) : ''}
<h2 id="edit">Settings</h2>${connectionForm(signed.csrf, form.error ? form : { values }, c)}
<h2 id="remove">Remove</h2><form method="post" action="${connectionPath(c.id)}/remove">${csrfField(signed.csrf)}
<button type="submit" class="danger">Remove the connection</button></form>`,
      flashOf(FLASH, done),
    );
  };

  /** The connection, or the 404 page sent. */
  const found = async (reply: FastifyReply, id: string): Promise<Connection | undefined> => {
    try {
      return await connections.show(id);
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      sendPage(
        reply,
        refusalStatus(err),
        layout({ title: 'Connection not found', body: html`<p>${err.message}</p><p><a href="/console/connections">All connections</a></p>` }),
      );
      return undefined;
    }
  };

  app.get<{ Querystring: { done?: string; scopeKind?: string; scope?: string } }>('/connections', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const { scopeKind = 'domain', scope = '', done } = request.query;
    return sendPage(reply, 200, await listPage(signed, { values: { scopeKind, scope } }, done));
  });

  app.post<{ Body: FormBody }>('/connections', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = valuesOf(request.body);
    const result = await attempt(
      reply,
      values,
      () => connections.create(toInput(values), signed.actor),
      (state) => listPage(signed, state),
    );
    return result.ok ? reply.redirect(withDone(connectionPath(result.value.id), 'created', '#test'), 303) : result.reply;
  });

  app.get<IdParams & { Querystring: { done?: string } }>('/connections/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    return c ? sendPage(reply, 200, showPage(signed, c, { done: request.query.done })) : reply;
  });

  app.post<IdParams & { Body: FormBody }>('/connections/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    if (!c) return reply;
    const values = valuesOf(request.body);
    const result = await attempt(
      reply,
      values,
      () => connections.update(c.id, toPatch(values), signed.actor),
      async (form) => showPage(signed, c, { form }),
    );
    return result.ok ? reply.redirect(withDone(connectionPath(c.id), 'saved'), 303) : result.reply;
  });

  // The report is the answer to the POST: a test changes nothing but the audit log, so running it again on reload is harmless.
  app.post<IdParams>('/connections/:id/test', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    if (!c) return reply;
    const result = await attempt(
      reply,
      {},
      () => connections.test(c.id, signed.actor),
      async (testRefused) => showPage(signed, c, { testRefused }),
    );
    return result.ok ? sendPage(reply, 200, showPage(signed, result.value.connection, { test: result.value })) : result.reply;
  });

  app.post<IdParams>('/connections/:id/remove', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    if (!c) return reply;
    await connections.remove(c.id, signed.actor);
    return reply.redirect(withDone('/console/connections', 'removed'), 303);
  });
}
