import { Type } from 'typebox';
import type { Credential } from '../../directory/credentials.js';
import { parseDurationMs } from '../../lib/durations.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const NullableStrings = Type.Union([Type.Array(Type.String()), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

const CredentialSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('submission'), Type.Literal('inbound')]),
  description: Type.String(),
  username: Type.String(),
  organisationId: Type.String(),
  domainId: NullableString,
  domain: NullableString,
  allowedSenders: NullableStrings,
  tlsClientName: NullableString,
  allowedNetworks: NullableStrings,
  expiresAt: Timestamp,
  maxMessagesPerHour: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.Union([Type.Literal('active'), Type.Literal('retiring'), Type.Literal('retired'), Type.Literal('expired'), Type.Literal('revoked')]),
  retireAt: Timestamp,
  retirementSetAt: Timestamp,
  usedSinceRotationAt: Timestamp,
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  lastUsedIp: NullableString,
  revokedAt: Timestamp,
});

const CreateBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('submission'), Type.Literal('inbound')], { default: 'submission' }),
    description: Type.String({ minLength: 1, maxLength: 200, description: 'what uses it, e.g. "Salesforce"' }),
    organisationId: Type.Optional(Type.String({ description: 'submission: the organisation it sends for (default org_default)' })),
    domain: Type.Optional(Type.String({ description: 'inbound: the claimed domain (name or id) it belongs to' })),
    allowedSenders: Type.Optional(Type.Array(Type.String(), { description: 'addresses or @domain entries it may send as' })),
    allowedNetworks: Type.Optional(Type.Array(Type.String(), { description: 'CIDRs AUTH (or the client certificate) is accepted from, IPv4 or IPv6' })),
    tlsClientName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'inbound: authenticate by a TLS client certificate valid for this DNS name (SAN, RFC 6125) on the relay port instead of AUTH; the credential then has no secret',
      }),
    ),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'when it stops working' })),
    expiresIn: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)$', description: 'or: how long from now, e.g. 90d' })),
    maxMessagesPerHour: Type.Optional(Type.Integer({ minimum: 1, description: 'messages per hour; over it MAIL FROM gets 450 4.7.1' })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String() });

function view(c: Credential) {
  return {
    ...c,
    expiresAt: iso(c.expiresAt),
    retireAt: iso(c.retireAt),
    retirementSetAt: iso(c.retirementSetAt),
    usedSinceRotationAt: iso(c.usedSinceRotationAt),
    createdAt: iso(c.createdAt),
    lastUsedAt: iso(c.lastUsedAt),
    revokedAt: iso(c.revokedAt),
  };
}

function expiry(body: { expiresAt?: string | undefined; expiresIn?: string | undefined }) {
  return {
    expiresAt: body.expiresAt === undefined ? undefined : Date.parse(body.expiresAt),
    expiresInMs: body.expiresIn === undefined ? undefined : parseDurationMs(body.expiresIn),
  };
}

/** /api/v1/credentials: SMTP credentials, their rotation and revocation. */
export function credentialRoutes({ app, services }: ApiContext): void {
  app.get(
    '/credentials',
    {
      schema: {
        tags: ['credentials'],
        summary: 'List SMTP credentials (never their secrets)',
        querystring: Type.Intersect([PageQuery, Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('submission'), Type.Literal('inbound')])) })]),
        response: { 200: pageOf(CredentialSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.credentials.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.post(
    '/credentials',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Create an SMTP credential; its secret is in this response only',
        description:
          'An inbound credential belongs to one claimed domain, with at most two live per domain (rotation). One with a tlsClientName has no secret (null): the client certificate is its proof.',
        body: CreateBody,
        response: { 201: Type.Object({ credential: CredentialSchema, secret: NullableString }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { expiresAt: _at, expiresIn: _in, ...rest } = request.body;
      const created = await services.credentials.create({ ...rest, ...expiry(request.body) }, request.actor);
      return reply.code(201).send({ credential: view(created.credential), secret: created.secret });
    },
  );

  app.get(
    '/credentials/:id',
    {
      schema: {
        tags: ['credentials'],
        summary: 'One credential, with its state and use since rotation',
        params: IdParams,
        response: { 200: CredentialSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.credentials.get(request.params.id)),
  );

  app.post(
    '/credentials/:id/revoke',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Revoke a credential: its next AUTH fails',
        params: IdParams,
        response: { 200: CredentialSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.credentials.revoke(request.params.id, request.actor)),
  );

  app.post(
    '/credentials/:id/retire',
    {
      schema: {
        tags: ['credentials'],
        summary: 'Rotate a credential out: it works until retireAt, and its use meanwhile is shown',
        params: IdParams,
        body: Type.Object({ retireAt: Type.String({ format: 'date-time', description: 'when AUTH with it starts to fail' }) }, { additionalProperties: false }),
        response: { 200: CredentialSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.credentials.retire(request.params.id, Date.parse(request.body.retireAt), request.actor)),
  );
}
