import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Credential, CredentialKind } from '../../directory/credentials.js';
import { DirectoryError } from '../../model/directory-error.js';
import { html } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { createForm, credentialTable, detailBody, ROTATION_WINDOWS, secretBody } from './credential-views.js';
import { attempt, EMPTY_FORM, type FormBody, type FormState, field, refusalStatus, refused } from './form-fields.js';
import { credentialPath, flashOf, withDone } from './format.js';
import { SecretReveal } from './secret-reveal.js';

const FLASH = { revoked: 'The credential was revoked: its next AUTH fails.' };

type IdParams = { Params: { id: string } };

/** /console/credentials: SMTP credentials, the secret shown once, rotation and revocation. */
export function registerCredentialPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const { services } = deps;
  const reveal = new SecretReveal(deps.clock);
  const page = (signed: Signed, title: string, body: ReturnType<typeof html>, flash?: ReturnType<typeof flashOf>) =>
    layout({ title, admin: signed.admin, csrf: signed.csrf, active: 'credentials', body, flash });

  const listPage = async (signed: Signed, form: FormState, done?: string) => {
    const items = (await services.credentials.list({ limit: 500, offset: 0 })).items;
    const domains = (await services.domains.list({ limit: 500, offset: 0 })).items.map((d) => d.name);
    return page(
      signed,
      'Credentials',
      html`<p>Applications authenticate with submission credentials to send; each domain's mail server relays back with an inbound credential.
Secrets are shown once, when created, and never listed.</p>${credentialTable(items)}
<h2 id="create">Create a credential</h2>${createForm(signed.csrf, form, domains)}`,
      flashOf(FLASH, done),
    );
  };

  /** A new credential's page, which shows its secret once; a certificate credential has none to hold. */
  const revealed = (reply: FastifyReply, id: string, sessionId: string, secret: string | null) => {
    if (secret !== null) reveal.hold(id, sessionId, secret);
    return reply.redirect(`${credentialPath(id)}/created`, 303);
  };

  /** The credential, or the 404 page sent. */
  const found = async (reply: FastifyReply, id: string): Promise<Credential | undefined> => {
    try {
      return await services.credentials.get(id);
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      sendPage(
        reply,
        refusalStatus(err),
        layout({ title: 'Credential not found', body: html`<p>${err.message}.</p><p><a href="/console/credentials">All credentials</a></p>` }),
      );
      return undefined;
    }
  };

  app.get<{ Querystring: { done?: string; kind?: string; domain?: string } }>('/credentials', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const { kind = 'submission', domain = '', done } = request.query;
    return sendPage(reply, 200, await listPage(signed, { ...EMPTY_FORM, values: { kind, domain } }, done));
  });

  app.post<{ Body: FormBody }>('/credentials', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = {
      kind: field(request.body, 'kind'),
      domain: field(request.body, 'domain'),
      description: field(request.body, 'description'),
      tlsClientName: field(request.body, 'tlsClientName'),
    };
    const kind = values.kind as CredentialKind;
    const input = {
      kind,
      description: values.description,
      ...(values.domain ? { domain: values.domain } : {}),
      ...(values.tlsClientName.trim() ? { tlsClientName: values.tlsClientName } : {}),
    };
    if (kind !== 'submission' && kind !== 'inbound')
      return sendPage(reply, 422, await listPage(signed, refused(values, new DirectoryError('invalid', 'choose submission or inbound', 'kind'))));
    const result = await attempt(
      reply,
      values,
      () => services.credentials.create(input, signed.actor),
      (state) => listPage(signed, state),
    );
    if (!result.ok) return result.reply;
    return revealed(reply, result.value.credential.id, signed.session.id, result.value.secret);
  });

  app.get<IdParams>('/credentials/:id/created', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const credential = await found(reply, request.params.id);
    if (!credential) return reply;
    const secret = reveal.take(credential.id, signed.session.id);
    // The console's default no-store already applies; said again here because this page must never be cached.
    reply.header('cache-control', 'no-store');
    return sendPage(reply, 200, page(signed, secret ? 'Credential created' : 'Credential', secretBody(credential, secret, deps.smtpEndpoints)));
  });

  app.get<IdParams>('/credentials/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const credential = await found(reply, request.params.id);
    if (!credential) return reply;
    return sendPage(reply, 200, page(signed, `Credential ${credential.description}`, detailBody(credential, signed.csrf, EMPTY_FORM, deps.smtpEndpoints)));
  });

  app.post<IdParams & { Body: FormBody }>('/credentials/:id/rotate', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const old = await found(reply, request.params.id);
    if (!old) return reply;
    const values = { window: field(request.body, 'window') };
    const window = ROTATION_WINDOWS[values.window];
    const result = await attempt(
      reply,
      values,
      async () => {
        if (!window) throw new DirectoryError('invalid', 'choose how long the old credential keeps working', 'window');
        if (old.state !== 'active' && old.state !== 'retiring')
          throw new DirectoryError('conflict', `this credential is ${old.state}; create a new one instead`);
        // The new one first: if the domain already has two live inbound credentials, nothing changes.
        const created = await services.credentials.create(
          {
            kind: old.kind,
            description: old.description,
            ...(old.domain ? { domain: old.domain } : {}),
            ...(old.allowedSenders ? { allowedSenders: old.allowedSenders } : {}),
            ...(old.allowedNetworks ? { allowedNetworks: old.allowedNetworks } : {}),
            ...(old.tlsClientName ? { tlsClientName: old.tlsClientName } : {}),
            ...(old.maxMessagesPerHour ? { maxMessagesPerHour: old.maxMessagesPerHour } : {}),
          },
          signed.actor,
        );
        await services.credentials.retire(old.id, deps.clock.now() + window.ms, signed.actor);
        return created;
      },
      async (state) => page(signed, `Credential ${old.description}`, detailBody(old, signed.csrf, state, deps.smtpEndpoints)),
    );
    if (!result.ok) return result.reply;
    return revealed(reply, result.value.credential.id, signed.session.id, result.value.secret);
  });

  app.get<IdParams>('/credentials/:id/revoke', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    if (!c) return reply;
    const body = html`<p>Revoke <strong>${c.description}</strong> (<code>${c.username}</code>)? Its next AUTH fails: whatever uses it stops sending${
      c.kind === 'inbound' ? ' or relaying back' : ''
    } at once. This cannot be undone.</p>
<form method="post" action="${credentialPath(c.id)}/revoke">${csrfField(signed.csrf)}<button type="submit" class="danger">Revoke the credential</button>
<a class="button secondary" href="${credentialPath(c.id)}">Cancel</a></form>`;
    return sendPage(reply, 200, page(signed, 'Revoke a credential', body));
  });

  app.post<IdParams>('/credentials/:id/revoke', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const c = await found(reply, request.params.id);
    if (!c) return reply;
    await services.credentials.revoke(c.id, signed.actor);
    return reply.redirect(withDone('/console/credentials', 'revoked'), 303);
  });
}
