import { Type } from 'typebox';
import type { ConnectorStatus, LegCheck } from '../../connector/connector.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, Timestamp } from '../schemas.js';

const LegCheckSchema = Type.Object({
  id: Type.String(),
  leg: Type.Enum(['outbound', 'inbound'], {
    description: "outbound: a mail out through the domain's outbound connection; inbound: back through its mail server's authenticated relay",
  }),
  trigger: Type.Enum(['setup', 'scheduled'], { description: 'setup: started by an operator; scheduled: the periodic round trip' }),
  status: Type.Enum(['pending', 'verified', 'failed']),
  reason: Type.Union([Type.Null(), Type.String()], { description: 'why the check failed, with the fix' }),
  queueId: Type.Union([Type.Null(), Type.String()], { description: 'the verification mail in the queue; null when none could be sent' }),
  startedAt: Timestamp,
  deadlineAt: Timestamp,
  finishedAt: Timestamp,
  beforeDisconnect: Type.Boolean({ description: "started before the domain's last disconnect or reconnect: it says nothing of the connection now" }),
});

const LatestCheck = Type.Union([LegCheckSchema, Type.Null()], { description: 'the latest check of the leg; null when never checked' });

const StatusSchema = Type.Object({
  domain: Type.String(),
  state: Type.Enum(['pending', 'connected', 'draining', 'disconnected'], {
    description:
      'pending: both legs were not yet verified since the domain was (re)connected; connected: both were; ' +
      'draining: disconnecting, the queue empties before the credentials and connection are removed; disconnected: reconnect it with POST …/reconnect',
  }),
  changedAt: Timestamp,
  legs: Type.Object({ outbound: LatestCheck, inbound: LatestCheck }),
  queued: Type.Integer({ description: 'messages still queued for or from the domain' }),
});

const NameParams = Type.Object({ name: Type.String({ description: 'the domain name, e.g. example.com' }) });

const TAGS = ['domains'];

const viewCheck = (c: LegCheck) => ({ ...c, startedAt: iso(c.startedAt), deadlineAt: iso(c.deadlineAt), finishedAt: iso(c.finishedAt) });
const view = (s: ConnectorStatus) => ({
  ...s,
  changedAt: iso(s.changedAt),
  legs: { outbound: s.legs.outbound && viewCheck(s.legs.outbound), inbound: s.legs.inbound && viewCheck(s.legs.inbound) },
});

/** The connector of a domain: its two legs' verification, its disconnect and its reconnect. */
export function domainConnectionRoutes({ app, services }: ApiContext): void {
  app.get(
    '/domains/:name/connection',
    {
      schema: {
        tags: TAGS,
        summary: "The domain's connector: its state, each leg's latest check, and the history of checks, newest first",
        params: NameParams,
        querystring: Type.Object({ history: Type.Integer({ minimum: 0, maximum: 1000, default: 10, description: 'how many past checks to include' }) }),
        response: { 200: Type.Object({ ...StatusSchema.properties, history: Type.Array(LegCheckSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const status = await services.connector.status(request.params.name);
      const history = await services.connector.history(request.params.name, request.query.history);
      return { ...view(status), history: history.map(viewCheck) };
    },
  );

  app.post(
    '/domains/:name/connection/verify',
    {
      schema: {
        tags: TAGS,
        summary: 'Start a connection check: send the verification mails of the outbound and inbound legs',
        description:
          'Answers 202 with the started checks; follow them with GET …/connection. A leg that cannot work as configured ' +
          '(no live inbound credential) is failed at once with the fix. The domain must be verified, connected and have an address.',
        params: NameParams,
        response: { 202: StatusSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(view(await services.connector.verify(request.params.name, request.actor))),
  );

  app.post(
    '/domains/:name/connection/disconnect',
    {
      schema: {
        tags: TAGS,
        summary: 'Disconnect the domain: stop its mail now, and once its queue has drained revoke its inbound credentials and remove its outbound connection',
        description: 'Answers 202 with state draining; the gateway completes the disconnect (state disconnected) once queued is 0.',
        params: NameParams,
        response: { 202: StatusSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(view(await services.connector.disconnect(request.params.name, request.actor))),
  );

  app.post(
    '/domains/:name/reconnect',
    {
      schema: {
        tags: TAGS,
        summary: 'Reconnect a disconnected domain, keeping its DKIM keys, addresses and inbound target',
        description:
          'Answers 200 with state pending. The disconnect revoked its inbound credentials and removed its outbound connection: ' +
          'create new ones (POST /credentials with kind inbound, POST /connections), then verify the connection. ' +
          '409 while the domain is connected or still draining.',
        params: NameParams,
        response: { 200: StatusSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.connector.reconnect(request.params.name, request.actor)),
  );
}
