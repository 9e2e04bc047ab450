import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf } from '../schemas.js';

const AuditSchema = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  actorIp: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
  prevHash: Type.String(),
  hash: Type.String(),
});

export function auditRoutes({ app, services }: ApiContext): void {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({ action: Type.Optional(Type.String()), actor: Type.Optional(Type.String()), targetId: Type.Optional(Type.String()) }),
        ]),
        response: { 200: pageOf(AuditSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.audit.list(request.query);
      return { ...page, items: page.items.map((r) => ({ ...r, at: iso(r.at) as string })) };
    },
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary: 'Recompute the HMAC chain and check it reaches the head anchored outside the database; names the first record that was altered or removed',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            checked: Type.Integer(),
            anchoredSeq: Type.Union([Type.Integer(), Type.Null()], {
              description: 'the newest record the head anchored in the data directory vouches for; null when there is no head yet',
            }),
            problem: Type.Optional(Type.Object({ seq: Type.Integer(), reason: Type.String() })),
          }),
          ...errorResponses,
        },
      },
    },
    async () => services.audit.verify(),
  );

  app.get(
    '/audit/export',
    { schema: { tags: ['audit'], summary: 'Every record as JSON Lines, oldest first', produces: ['application/jsonl'] } },
    async (_request, reply) => {
      reply.type('application/jsonl');
      return reply.send(Readable.from(services.audit.exportLines()));
    },
  );
}
