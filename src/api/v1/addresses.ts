import { Type } from 'typebox';
import type { Address } from '../../directory/addresses.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const Kind = Type.Enum(['support', 'functional'], { description: 'a support address, or a functional account' });
const Mailbox = Type.String({ minLength: 1, maxLength: 254, description: 'lowercase, e.g. customerservice@example.com' });

const AddressSchema = Type.Object({
  id: Type.String(),
  address: Type.String(),
  kind: Kind,
  description: Type.String(),
  domain: Type.String(),
  aliases: Type.Array(Type.String(), { description: 'addresses in any verified domain of the organisation that reach this one' }),
  createdAt: Timestamp,
  source: Type.Union([Type.Literal('manual'), Type.Literal('scim'), Type.Literal('ldap')], {
    description: "manual: entered here; scim or ldap: synced from the organisation's directory, which alone changes it",
  }),
  externalId: Type.Union([Type.String(), Type.Null()], { description: "the directory's id of the user a synced address belongs to" }),
  suspendedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'set while the directory user is deactivated: the address sends and receives nothing',
  }),
});

const AddressParams = Type.Object({ address: Type.String({ description: 'the address (not an alias)' }) });

const view = (a: Address) => ({ ...a, createdAt: iso(a.createdAt), suspendedAt: iso(a.suspendedAt) });

export function addressRoutes(ctx: ApiContext): void {
  listAndAdd(ctx);
  showAndRemove(ctx);
  aliases(ctx);
}

function listAndAdd({ app, services }: ApiContext): void {
  app.get(
    '/addresses',
    {
      schema: {
        tags: ['addresses'],
        summary: 'List addresses with their aliases, by address',
        querystring: Type.Intersect([PageQuery, Type.Object({ domain: Type.Optional(Type.String()), kind: Type.Optional(Kind) })]),
        response: { 200: pageOf(AddressSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { domain, kind, ...page } = request.query;
      const result = await services.addresses.list(page, { domain, kind });
      return { ...result, items: result.items.map(view) };
    },
  );

  app.post(
    '/addresses',
    {
      schema: {
        tags: ['addresses'],
        summary: 'Add a support address or functional account in a verified domain, optionally with aliases',
        description:
          'Refused: addresses in pending or unknown domains, system addresses (postmaster, mailer-daemon, abuse, anything at the gateway hostname), ' +
          'an address or alias already in use, and more than limits.addressesPerDomain addresses and aliases in one domain.',
        body: Type.Object(
          {
            address: Mailbox,
            kind: Kind,
            description: Type.Optional(Type.String({ maxLength: 200 })),
            aliases: Type.Optional(Type.Array(Mailbox, { maxItems: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: AddressSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(view(await services.addresses.add(request.body, request.actor))),
  );
}

function showAndRemove({ app, services }: ApiContext): void {
  app.get(
    '/addresses/:address',
    { schema: { tags: ['addresses'], summary: 'One address with its aliases', params: AddressParams, response: { 200: AddressSchema, ...errorResponses } } },
    async (request) => view(await services.addresses.get(request.params.address)),
  );

  app.delete(
    '/addresses/:address',
    {
      schema: { tags: ['addresses'], summary: 'Remove an address and its aliases', params: AddressParams, response: { 200: AddressSchema, ...errorResponses } },
    },
    async (request) => view(await services.addresses.remove(request.params.address, request.actor)),
  );
}

function aliases({ app, services }: ApiContext): void {
  app.post(
    '/addresses/:address/aliases',
    {
      schema: {
        tags: ['addresses'],
        summary: 'Add an alias, in any verified domain of the organisation',
        params: AddressParams,
        body: Type.Object({ alias: Mailbox }, { additionalProperties: false }),
        response: { 201: AddressSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(view(await services.addresses.addAlias(request.params.address, request.body.alias, request.actor))),
  );

  app.delete(
    '/addresses/:address/aliases/:alias',
    {
      schema: {
        tags: ['addresses'],
        summary: 'Remove an alias',
        params: Type.Object({ ...AddressParams.properties, alias: Type.String() }),
        response: { 200: AddressSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.addresses.removeAlias(request.params.address, request.params.alias, request.actor)),
  );
}
