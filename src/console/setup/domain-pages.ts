import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AddressKind } from '../../directory/addresses.js';
import type { Actor } from '../../directory/context.js';
import { DirectoryError } from '../../model/directory-error.js';
import { html } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { layout } from '../layout.js';
import { DIRECT_DELIVERY_FLASH } from './direct-delivery-section.js';
import { type DomainForms, domainPage } from './domain-view.js';
import { attempt, type FormBody, type FormState, field } from './form-fields.js';
import { domainPath, flashOf, withDone } from './format.js';
import type { DomainSetup } from './setup-checklist.js';

const FLASH = {
  ...DIRECT_DELIVERY_FLASH,
  claimed: 'The domain is claimed. Publish the TXT record below to prove that you control it.',
  verified: 'Ownership verified: the TXT record was found.',
  checked: 'Checked: the TXT record was not found yet. What DNS answered is shown below.',
  'address-added': 'The address was added.',
  'address-removed': 'The address was removed with its aliases.',
  'alias-added': 'The alias was added.',
  'alias-removed': 'The alias was removed.',
  'legs-started': 'Verification mails sent. The state below updates as they come back.',
  reconnected:
    'The domain is reconnected, with its DKIM keys, addresses and inbound target. The disconnect revoked its inbound credentials and removed its outbound connection: create new ones, then verify the connection.',
};

type NameParams = { Params: { name: string } };

/** Everything the domain page shows; a DirectoryError (not_found) when there is no such domain. */
async function loadSetup(deps: ConsoleDeps, name: string): Promise<DomainSetup> {
  const { services } = deps;
  const domain = await services.domains.get(name);
  const all = { limit: 500, offset: 0 };
  const addresses = domain.status === 'verified' ? (await services.addresses.list(all, { domain: domain.name })).items : [];
  const inboundCredentials = (await services.credentials.list({ ...all, kind: 'inbound' })).items.filter(
    (c) => c.domain === domain.name && (c.state === 'active' || c.state === 'retiring'),
  );
  const connections = (await services.connections.list(all)).items.filter((c) => c.scope === domain.name || c.scope.endsWith(`@${domain.name}`));
  return { domain, addresses, inboundCredentials, connections, status: await services.connector.status(domain.name) };
}

function notFoundPage(reply: FastifyReply, err: DirectoryError): FastifyReply {
  return sendPage(reply, 404, layout({ title: 'Domain not found', body: html`<p>${err.message}.</p><p><a href="/console/domains">All domains</a></p>` }));
}

interface DomainAction {
  /** The fields of the form, as typed (kept when refused). */
  values(body: FormBody): Record<string, string>;
  run(deps: ConsoleDeps, name: string, values: Record<string, string>, actor: Actor): Promise<string>;
  /** Which form of the page shows the refusal. */
  forms(state: FormState, values: Record<string, string>): DomainForms;
  anchor: string;
}

const ACTIONS: Record<string, DomainAction> = {
  '/verify': {
    values: () => ({}),
    run: async (deps, name, _v, actor) => ((await deps.services.domains.verify(name, actor)).domain.status === 'verified' ? 'verified' : 'checked'),
    forms: () => ({}),
    anchor: '#ownership',
  },
  '/addresses': {
    values: (body) => ({
      address: field(body, 'address').trim(),
      kind: field(body, 'kind'),
      description: field(body, 'description'),
      aliases: field(body, 'aliases'),
    }),
    run: async (deps, _name, v, actor) => {
      const aliases = v.aliases?.split(/[\s,;]+/).filter(Boolean) ?? [];
      const input = { address: v.address ?? '', kind: v.kind as AddressKind, description: v.description, aliases };
      await deps.services.addresses.add(input, actor);
      return 'address-added';
    },
    forms: (add) => ({ add }),
    anchor: '#addresses',
  },
  '/addresses/remove': {
    values: (body) => ({ address: field(body, 'address') }),
    run: async (deps, _name, v, actor) => {
      await deps.services.addresses.remove(v.address ?? '', actor);
      return 'address-removed';
    },
    forms: (remove) => ({ remove }),
    anchor: '#addresses',
  },
  '/aliases': {
    values: (body) => ({ address: field(body, 'address'), alias: field(body, 'alias').trim() }),
    run: async (deps, _name, v, actor) => {
      await deps.services.addresses.addAlias(v.address ?? '', v.alias ?? '', actor);
      return 'alias-added';
    },
    forms: (state, v) => ({ alias: { address: v.address ?? '', state } }),
    anchor: '#addresses',
  },
  '/aliases/remove': {
    values: (body) => ({ address: field(body, 'address'), alias: field(body, 'alias') }),
    run: async (deps, _name, v, actor) => {
      await deps.services.addresses.removeAlias(v.address ?? '', v.alias ?? '', actor);
      return 'alias-removed';
    },
    forms: (remove) => ({ remove }),
    anchor: '#addresses',
  },
  '/connection/verify': {
    values: () => ({}),
    run: async (deps, name, _v, actor) => {
      await deps.services.connector.verify(name, actor);
      return 'legs-started';
    },
    forms: (legs) => ({ legs }),
    anchor: '#legs',
  },
  '/connection/reconnect': {
    values: () => ({}),
    run: async (deps, name, _v, actor) => {
      await deps.services.connector.reconnect(name, actor);
      return 'reconnected';
    },
    forms: (legs) => ({ legs }),
    anchor: '#legs',
  },
  '/direct-delivery': {
    values: (body) => ({ enabled: field(body, 'enabled') }),
    run: async (deps, name, v, actor) => {
      if (v.enabled !== 'on' && v.enabled !== 'off') throw new DirectoryError('invalid', 'enabled must be on or off', 'enabled');
      const state = await deps.services.directDelivery.set(name, v.enabled === 'on', actor);
      if (!state.enabled) return 'direct-delivery-off';
      return state.verdict?.level === 'dnssec+pkix' ? 'direct-delivery-pkix' : 'direct-delivery-dane';
    },
    forms: (directDelivery) => ({ directDelivery }),
    anchor: '#direct-delivery',
  },
};

/** /console/domains/:name: the guided setup of one domain, and every action on its page. */
export function registerDomainPages(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get<NameParams & { Querystring: { done?: string; check?: string } }>('/domains/:name', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    try {
      const setup = await loadSetup(deps, request.params.name);
      // The DNS checker's verdict beside the direct-delivery switch, when asked for: the full check probes each MX host, too slow for every view.
      const verdict = request.query.check === 'direct-delivery' ? (await deps.services.dnsCheck.check(setup.domain.name)).directDelivery : undefined;
      return sendPage(reply, 200, domainPage(signed, setup, verdict ? { verdict } : {}, flashOf(FLASH, request.query.done)));
    } catch (err) {
      if (err instanceof DirectoryError && err.code === 'not_found') return notFoundPage(reply, err);
      throw err;
    }
  });

  for (const [path, action] of Object.entries(ACTIONS)) {
    app.post<NameParams & { Body: FormBody }>(`/domains/:name${path}`, HIDDEN, async (request, reply) => {
      const signed = await signedIn(deps, request, reply);
      if (!signed) return reply;
      const { name } = request.params;
      const values = action.values(request.body);
      const result = await attempt(
        reply,
        values,
        () => action.run(deps, name, values, signed.actor),
        async (state) => domainPage(signed, await loadSetup(deps, name), action.forms(state, values), undefined),
      ).catch((err: unknown) => {
        // The domain itself is gone (removed meanwhile): no page to show the refusal on.
        if (err instanceof DirectoryError && err.code === 'not_found') return { ok: false as const, reply: notFoundPage(reply, err) };
        throw err;
      });
      if (!result.ok) return result.reply;
      return reply.redirect(withDone(domainPath(name), result.value, action.anchor), 303);
    });
  }
}
