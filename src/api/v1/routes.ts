import { Type } from 'typebox';
import type { Route, RouteTest } from '../../directory/routes.js';
import { ConfirmationRequired, DirectoryError } from '../../model/directory-error.js';
import { ROUTE_ACTIONS } from '../../policy/route-match.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf } from '../schemas.js';

const Action = Type.Enum([...ROUTE_ACTIONS], { description: 'secure: make a secure message; relay: plain relay; reject: refuse at MAIL FROM (550 5.7.1)' });
const Match = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'the sender domain (secure.example.com) or a subdomain wildcard (*.example.com: every name below example.com, not example.com itself)',
});

const RouteSchema = Type.Object({
  id: Type.String(),
  position: Type.Integer({ description: '1 is tried first; the first match wins' }),
  match: Type.String(),
  action: Action,
  description: Type.String(),
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const RouteTestSchema = Type.Object({
  sender: Type.String(),
  domain: Type.Union([Type.String(), Type.Null()]),
  action: Action,
  source: Type.Enum(['rule', 'default']),
  rule: Type.Union([RouteSchema, Type.Null()]),
});

const RoutePage = Type.Object({ ...pageOf(RouteSchema).properties, defaultAction: Action });

const IdParams = Type.Object({ id: Type.String() });
const Description = Type.String({ maxLength: 200 });
const Position = Type.Integer({ minimum: 1, description: '1 = tried first' });

/** One way to confirm for every route change: a query parameter, since DELETE carries no body. */
const ConfirmQuery = Type.Object(
  {
    confirm: Type.Optional(
      Type.Boolean({
        description:
          'true to go ahead with a change that takes senders out of `secure` (their mail then leaves as plain mail, or is refused); without it such a change is refused with 409 naming `query.confirm`',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Runs a change with the caller's confirmation; a refusal says how to confirm over the API. */
async function confirmable<T>(confirm: boolean | undefined, work: (options: { confirmed: boolean }) => Promise<T>): Promise<T> {
  try {
    return await work({ confirmed: confirm === true });
  } catch (err) {
    if (!(err instanceof ConfirmationRequired)) throw err;
    throw new DirectoryError('unconfirmed', `${err.consequence}; repeat the request with ?confirm=true to go ahead`, 'query.confirm');
  }
}

const view = (r: Route) => ({ ...r, createdAt: iso(r.createdAt) });
const viewTest = (t: RouteTest) => ({ ...t, rule: t.rule ? view(t.rule) : null });

export function routeRoutes({ app, services }: ApiContext): void {
  app.get(
    '/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'List the routes in the order they are tried, with the default action',
        querystring: PageQuery,
        response: { 200: RoutePage, ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.routes.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.post(
    '/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'Add a route at a position (at the end when omitted)',
        description: 'A route that takes precedence over a `secure` route needs `?confirm=true`.',
        querystring: ConfirmQuery,
        body: Type.Object(
          { match: Match, action: Action, description: Type.Optional(Description), position: Type.Optional(Position) },
          { additionalProperties: false },
        ),
        response: { 201: RouteSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(view(await confirmable(request.query.confirm, (options) => services.routes.add(request.body, request.actor, options)))),
  );

  app.get(
    '/routes/test',
    {
      schema: {
        tags: ['routes'],
        summary: 'Which route applies to an envelope sender (empty or <> for the null sender)',
        querystring: Type.Object({ sender: Type.String({ maxLength: 320 }) }),
        response: { 200: RouteTestSchema, ...errorResponses },
      },
    },
    async (request) => viewTest(await services.routes.test(request.query.sender)),
  );

  app.get(
    '/routes/default',
    { schema: { tags: ['routes'], summary: 'The action for senders no route matches', response: { 200: Type.Object({ action: Action }), ...errorResponses } } },
    async () => ({ action: await services.routes.defaultAction() }),
  );

  app.put(
    '/routes/default',
    {
      schema: {
        tags: ['routes'],
        summary: 'Set the action for senders no route matches',
        description: 'Changing it from `secure` needs `?confirm=true`.',
        querystring: ConfirmQuery,
        body: Type.Object({ action: Action }, { additionalProperties: false }),
        response: { 200: Type.Object({ action: Action }), ...errorResponses },
      },
    },
    async (request) => ({
      action: await confirmable(request.query.confirm, (options) => services.routes.setDefault(request.body.action, request.actor, options)),
    }),
  );

  app.patch(
    '/routes/:id',
    {
      schema: {
        tags: ['routes'],
        summary: 'Change a route; a new position moves it, the rules in between shift by one',
        description: 'A change that takes senders out of `secure` (its action, a narrower match, a move below or above another rule) needs `?confirm=true`.',
        params: IdParams,
        querystring: ConfirmQuery,
        body: Type.Object(
          { match: Type.Optional(Match), action: Type.Optional(Action), description: Type.Optional(Description), position: Type.Optional(Position) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: RouteSchema, ...errorResponses },
      },
    },
    async (request) =>
      view(await confirmable(request.query.confirm, (options) => services.routes.update(request.params.id, request.body, request.actor, options))),
  );

  app.delete(
    '/routes/:id',
    {
      schema: {
        tags: ['routes'],
        summary: 'Remove a route; the ones after it move up',
        description: 'Removing a `secure` route (unless another rule or the default still makes its senders secure) needs `?confirm=true`.',
        params: IdParams,
        querystring: ConfirmQuery,
        response: { 200: RouteSchema, ...errorResponses },
      },
    },
    async (request) => view(await confirmable(request.query.confirm, (options) => services.routes.remove(request.params.id, request.actor, options))),
  );
}
