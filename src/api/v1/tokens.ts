import { Type } from 'typebox';
import type { ApiToken } from '../../directory/api-tokens.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const Scope = Type.Union([Type.Literal('admin'), Type.Literal('scim')], {
  description: 'admin: this API; scim: /scim/v2 provisioning only',
});

const TokenSchema = Type.Object({
  id: Type.String(),
  description: Type.String(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  lastUsedIp: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Timestamp,
  scope: Scope,
});

const view = (t: ApiToken) => ({ ...t, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) });

export function tokenRoutes({ app, services }: ApiContext): void {
  app.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens (never their secrets)',
        querystring: PageQuery,
        response: { 200: pageOf(TokenSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.tokens.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.post(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; its secret is in this response only',
        body: Type.Object({ description: Type.String({ minLength: 1, maxLength: 200 }), scope: Type.Optional(Scope) }, { additionalProperties: false }),
        response: { 201: Type.Object({ token: TokenSchema, secret: Type.String() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, secret } = await services.tokens.create(request.body.description, request.actor, request.body.scope ?? 'admin');
      return reply.code(201).send({ token: view(token), secret });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token at once',
        params: Type.Object({ id: Type.String() }),
        response: { 200: TokenSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.tokens.revoke(request.params.id, request.actor)),
  );
}
