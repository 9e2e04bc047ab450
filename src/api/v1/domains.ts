import { Type } from 'typebox';
import type { Domain } from '../../directory/domains.js';
import type { ProofCheck } from '../../dns/index.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const Status = Type.Enum(['pending', 'verified'], { description: 'pending until the TXT record is found (or an operator verifies by hand)' });

const CheckSchema = Type.Object({
  outcome: Type.Enum(['verified', 'mismatch', 'no_record', 'nxdomain', 'servfail', 'dns_error', 'timeout'], {
    description: 'only verified proves ownership; the others say what DNS answered instead',
  }),
  detail: Type.String({ description: 'what was found, in one sentence' }),
  found: Type.Array(Type.String(), { description: 'the TXT values at the record name' }),
});

const DomainSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  organisationId: Type.String(),
  status: Status,
  verificationRecord: Type.Object(
    { type: Type.Literal('TXT'), name: Type.String(), value: Type.String() },
    { description: 'the DNS record to publish to prove control of the domain' },
  ),
  createdAt: Timestamp,
  verifiedAt: Timestamp,
  verifiedBy: Type.Union([Type.String(), Type.Null()], { description: "'dns', or 'operator:<who>' when verified by hand from the CLI" }),
  lastCheck: Type.Union([Type.Object({ at: Timestamp, ...CheckSchema.properties }), Type.Null()]),
  addresses: Type.Integer({ description: 'addresses in the domain' }),
  directDelivery: Type.Object(
    { enabled: Type.Boolean(), changedAt: Timestamp },
    { description: 'inbound direct delivery of secure messages (PUT /domains/{name}/direct-delivery)' },
  ),
});

const NameParams = Type.Object({ name: Type.String({ description: 'the domain name, e.g. example.com' }) });

const view = (d: Domain) => ({
  id: d.id,
  name: d.name,
  organisationId: d.organisationId,
  status: d.status,
  verificationRecord: d.verificationRecord,
  createdAt: iso(d.createdAt),
  verifiedAt: iso(d.verifiedAt),
  verifiedBy: d.verifiedBy,
  lastCheck: d.lastCheck ? { ...d.lastCheck, at: iso(d.lastCheck.at) } : null,
  addresses: d.addressCount,
  directDelivery: { enabled: d.directDelivery.enabled, changedAt: iso(d.directDelivery.changedAt) },
});

export function domainRoutes(ctx: ApiContext): void {
  listAndAdd(ctx);
  showAndRemove(ctx);
  verify(ctx);
}

function listAndAdd({ app, services }: ApiContext): void {
  app.get(
    '/domains',
    {
      schema: {
        tags: ['domains'],
        summary: 'List the domains, by name',
        querystring: Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(Status) })]),
        response: { 200: pageOf(DomainSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { status, ...page } = request.query;
      const result = await services.domains.list(page, { status });
      return { ...result, items: result.items.map(view) };
    },
  );

  app.post(
    '/domains',
    {
      schema: {
        tags: ['domains'],
        summary: 'Add a domain (pending); the answer holds the TXT record to publish before verifying',
        description: 'A subdomain (secure.example.com) is a domain of its own with its own record. Names are lowercase A-labels without a trailing dot.',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 253, description: 'e.g. example.com' }) }, { additionalProperties: false }),
        response: { 201: DomainSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(view(await services.domains.add(request.body.name, request.actor))),
  );
}

function showAndRemove({ app, services }: ApiContext): void {
  app.get(
    '/domains/:name',
    {
      schema: {
        tags: ['domains'],
        summary: 'One domain, with its TXT record and last check',
        params: NameParams,
        response: { 200: DomainSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.domains.get(request.params.name)),
  );

  app.delete(
    '/domains/:name',
    {
      schema: {
        tags: ['domains'],
        summary: 'Remove a domain with its addresses and every alias in it',
        params: NameParams,
        response: {
          200: Type.Object({ domain: DomainSchema, removed: Type.Object({ addresses: Type.Array(Type.String()), aliases: Type.Array(Type.String()) }) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { domain, removed } = await services.domains.remove(request.params.name, request.actor);
      return { domain: view(domain), removed };
    },
  );
}

function verify({ app, services }: ApiContext): void {
  app.post(
    '/domains/:name/verify',
    {
      schema: {
        tags: ['domains'],
        summary: 'Look up the TXT record through the configured resolver; verified when it is found',
        description:
          'Answers 200 with the domain and what the lookup found (check); the domain stays pending unless check.outcome is verified. ' +
          'check is null when the domain was already verified. Verification by hand is not offered here: it is an operator action, `relaygate domain verify NAME --force`.',
        params: NameParams,
        response: { 200: Type.Object({ domain: DomainSchema, check: Type.Union([CheckSchema, Type.Null()]) }), ...errorResponses },
      },
    },
    async (request) => {
      const { domain, check } = await services.domains.verify(request.params.name, request.actor);
      return { domain: view(domain), check: check satisfies ProofCheck | null };
    },
  );
}
