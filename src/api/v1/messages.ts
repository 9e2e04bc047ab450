import { Type } from 'typebox';
import type { EventView, MessageView } from '../../queue/queue-store.js';
import type { ApiContext } from '../api-context.js';
import { sendProblem } from '../problem.js';
import { errorResponses, iso, Timestamp } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const RecipientSchema = Type.Object({
  address: Type.String(),
  status: Type.String({ description: 'queued, deferred, delivered, bounced, or failed (parked inbound mail)' }),
  attempts: Type.Integer(),
  nextAttemptAt: Timestamp,
  lastAttemptAt: Timestamp,
  lastReply: Nullable(Type.String()),
});

const EvidenceSchema = Type.Object(
  {
    policy: Type.String({ description: 'dane, mta-sts-enforce, mta-sts-testing, opportunistic or override' }),
    override: Nullable(Type.String()),
    tlsRequired: Nullable(Type.String()),
    mxHost: Type.String(),
    mxAddress: Type.String(),
    dnssec: Type.Object({ mx: Type.String(), tlsa: Type.String() }),
    tls: Nullable(Type.Object({ version: Type.String(), cipher: Type.String() })),
    peerAuthentication: Type.String({ description: 'DANE-EE, DANE-TA, PKIX or none' }),
    tlsaMatch: Nullable(Type.String()),
    spkiSha256: Nullable(Type.String()),
    mtaSts: Nullable(Type.Object({ id: Type.String(), mode: Type.String() })),
    policyFailures: Type.Array(Type.String()),
    reply: Type.String(),
  },
  { description: 'How a recipient was delivered: the TLS policy applied and what proved the peer' },
);

const MessageSchema = Type.Object({
  id: Type.String(),
  direction: Type.String({ description: 'outbound (to the world) or inbound (to the application)' }),
  mailFrom: Type.String(),
  sizeBytes: Type.Integer(),
  receivedAt: Timestamp,
  expiresAt: Timestamp,
  completedAt: Timestamp,
  isDsn: Type.Boolean(),
  recipients: Type.Array(RecipientSchema),
});

const MessageWithHistory = Type.Object({
  ...MessageSchema.properties,
  events: Type.Array(
    Type.Object({
      at: Timestamp,
      kind: Type.String(),
      recipient: Nullable(Type.String()),
      detail: Nullable(Type.String()),
      evidence: Nullable(EvidenceSchema),
    }),
  ),
});

const view = (m: MessageView) => ({
  ...m,
  receivedAt: iso(m.receivedAt),
  expiresAt: iso(m.expiresAt),
  completedAt: iso(m.completedAt),
  recipients: m.recipients.map((r) => ({ ...r, nextAttemptAt: iso(r.nextAttemptAt), lastAttemptAt: iso(r.lastAttemptAt) })),
});
const eventView = (e: EventView) => ({ ...e, at: iso(e.at) });

/** The message log: queued and recent messages, each with its history and delivery evidence. */
export function messageRoutes({ app, services }: ApiContext): void {
  app.get(
    '/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'List messages, newest first (only those still in the queue unless all=true)',
        querystring: Type.Object({ all: Type.Boolean({ default: false }), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
        response: { 200: Type.Object({ items: Type.Array(MessageSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ items: (await services.messages.list({ includeCompleted: request.query.all, limit: request.query.limit })).map(view) }),
  );

  app.get(
    '/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'A message with every recipient, its history and the delivery evidence of each delivered recipient',
        params: Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z]{1,40}$' }) }),
        response: { 200: MessageWithHistory, ...errorResponses },
      },
    },
    async (request, reply) => {
      const message = await services.messages.show(request.params.id.toUpperCase());
      if (!message) return sendProblem(reply, { status: 404, title: 'Not found', detail: `no message ${request.params.id}` });
      return { ...view(message), events: message.events.map(eventView) };
    },
  );
}
