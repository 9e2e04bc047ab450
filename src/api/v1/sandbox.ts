import { Type } from 'typebox';
import { type CapturedMessage, CaptureNotFound } from '../../sandbox/mailbox.js';
import type { ApiContext } from '../api-context.js';
import { sendProblem } from '../problem.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const CapturedSchema = Type.Object({
  id: Type.String(),
  capturedAt: Timestamp,
  kind: Type.Enum(['smtp', 'webhook'], {
    description: 'smtp: a delivery that would have been sent; webhook: an inbound payload taken by the built-in capture endpoint',
  }),
  queueId: Type.String(),
  mailFrom: Type.String({ description: 'the envelope sender, empty for the null sender' }),
  recipients: Type.Array(Type.String()),
  subject: Type.Union([Type.String(), Type.Null()]),
  sizeBytes: Type.Integer(),
  decision: Type.Object(
    {
      route: Type.String({ description: "the sender's route, or what the mail is (a report, an inbound forward)" }),
      nextHop: Type.String({ description: 'the smarthost, the MX delivery or the webhook it would have gone to' }),
      tls: Type.String({ description: 'the TLS policy that would have applied' }),
    },
    { description: 'the delivery decision that would have been taken' },
  ),
  dkim: Type.Array(Type.Object({ domain: Type.String(), selector: Type.String(), result: Type.String(), comment: Type.String() }), {
    description: "each DKIM signature, checked against the gateway's own keys (DNS is not consulted)",
  }),
});

const IdParams = Type.Object({ id: Type.String({ pattern: '^sbx_[0-9a-z]{1,40}$' }) });
const view = (m: CapturedMessage) => ({ ...m, capturedAt: iso(m.capturedAt) });

/** The sandbox mailbox: what the gateway would have sent (start --sandbox). */
export function sandboxRoutes({ app, services }: ApiContext): void {
  const notFound = (err: unknown, reply: Parameters<typeof sendProblem>[0]) => {
    if (err instanceof CaptureNotFound) return sendProblem(reply, { status: 404, title: 'Not found', detail: err.message });
    throw err;
  };

  app.get(
    '/sandbox/messages',
    {
      schema: {
        tags: ['sandbox'],
        summary: 'Captured messages, newest first',
        querystring: PageQuery,
        response: { 200: pageOf(CapturedSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.sandbox.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.get(
    '/sandbox/messages/:id',
    {
      schema: {
        tags: ['sandbox'],
        summary: 'One captured message with its envelope, delivery decision and DKIM result',
        params: IdParams,
        response: { 200: CapturedSchema, ...errorResponses },
      },
    },
    async (request, reply) => services.sandbox.show(request.params.id).then(view, (err: unknown) => notFound(err, reply)),
  );

  app.get(
    '/sandbox/messages/:id/raw',
    {
      schema: {
        tags: ['sandbox'],
        summary: 'The captured message as it would have been sent (message/rfc822), or the webhook request (JSON)',
        params: IdParams,
        response: {
          200: { description: 'the raw message', content: { 'message/rfc822': { schema: {} }, 'application/json': { schema: {} } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      try {
        const captured = await services.sandbox.show(request.params.id);
        const raw = await services.sandbox.raw(request.params.id);
        return reply.type(captured.kind === 'webhook' ? 'application/json' : 'message/rfc822').send(raw);
      } catch (err) {
        return notFound(err, reply);
      }
    },
  );

  app.delete(
    '/sandbox/messages',
    {
      schema: {
        tags: ['sandbox'],
        summary: 'Empty the sandbox mailbox',
        response: { 200: Type.Object({ removed: Type.Integer() }), ...errorResponses },
      },
    },
    async () => ({ removed: await services.sandbox.clear() }),
  );
}
