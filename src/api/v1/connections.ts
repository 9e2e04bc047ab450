import { Type } from 'typebox';
import { AUTH_KINDS } from '../../directory/connection-auth.js';
import { type Connection, type ConnectionTest, TLS_MODES } from '../../directory/connections.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf } from '../schemas.js';

const ScopeKind = Type.Enum(['domain', 'address'], {
  description: 'domain: mail from any address of the domain; address: mail from that address only (wins over its domain)',
});
const TlsMode = Type.Enum([...TLS_MODES], { description: 'starttls (required, port 587), implicit (port 465) or none (no TLS, no credentials: a local sink)' });
// Null first: with Fastify's type coercion a string branch tried first would turn null into ''.
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([Type.Null(), t]);
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const ConnectionSchema = Type.Object({
  id: Type.String(),
  scopeKind: ScopeKind,
  scope: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  tlsMode: TlsMode,
  username: Nullable(Type.String()),
  auth: Type.Enum(['none', ...AUTH_KINDS], {
    description:
      'none: no AUTH; password: SMTP AUTH with the secret; xoauth2 / oauthbearer: an OAuth 2.0 access token by the client-credentials grant, the secret being the client secret',
  }),
  oauth2: Type.Union([
    Type.Null(),
    Type.Object(
      { tokenUrl: Type.String(), clientId: Type.String(), scope: Nullable(Type.String()) },
      { description: 'the OAuth 2.0 client (never its secret)' },
    ),
  ]),
  hasSecret: Type.Boolean({ description: 'the secret itself is never returned' }),
  clientCert: Type.Union([
    Type.Null(),
    Type.Object(
      { subject: Type.String(), subjectAltName: Nullable(Type.String()), issuer: Type.String(), validTo: Type.String(), fingerprint256: Type.String() },
      { description: 'the certificate presented on STARTTLS when the server asks for one (its key is never returned)' },
    ),
  ]),
  createdAt: Time,
  updatedAt: Time,
});

const TlsSchema = Type.Object({
  protocol: Nullable(Type.String()),
  cipher: Nullable(Type.String()),
  verified: Type.Boolean({ description: 'chain to a trusted CA (system CAs plus smarthostCaFile) and the host name in the certificate' }),
  verifyError: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  issuer: Nullable(Type.String()),
  validTo: Nullable(Type.String()),
  fingerprint256: Nullable(Type.String()),
});

const StepSchema = Type.Object({
  step: Type.Enum(['connect', 'tls', 'greeting', 'ehlo', 'starttls', 'token', 'auth', 'quit'], {
    description: 'token: the OAuth 2.0 client-credentials grant, only for auth xoauth2 / oauthbearer',
  }),
  status: Type.Enum(['pass', 'fail', 'skip']),
  detail: Type.String(),
  reply: Nullable(Type.String({ description: "the server's reply to this step" })),
  tls: Type.Optional(TlsSchema),
});

const TestSchema = Type.Object({ connection: ConnectionSchema, ok: Type.Boolean(), testedAt: Time, steps: Type.Array(StepSchema) });

const Fields = {
  scopeKind: ScopeKind,
  scope: Type.String({ minLength: 1, maxLength: 320, description: 'the domain (example.com) or the address (support@example.com)' }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: '587 for starttls, 465 for implicit, 25 for none when omitted' }),
  tlsMode: TlsMode,
  username: Nullable(Type.String({ maxLength: 255 })),
  secret: Nullable(Type.String({ minLength: 1, maxLength: 1024, description: 'write-only: sealed at rest, never returned' })),
  auth: Type.Enum([...AUTH_KINDS], { description: 'password (default) or xoauth2 / oauthbearer: then secret is the OAuth 2.0 client secret' }),
  oauth2TokenUrl: Nullable(Type.String({ maxLength: 2048, description: 'https token endpoint for the client-credentials grant' })),
  oauth2ClientId: Nullable(Type.String({ maxLength: 255 })),
  oauth2Scope: Nullable(Type.String({ maxLength: 1024, description: 'e.g. https://outlook.office365.com/.default' })),
  clientCert: Nullable(Type.String({ maxLength: 65536, description: 'PEM chain, leaf first, presented on STARTTLS; null removes it with its key' })),
  clientKey: Nullable(Type.String({ maxLength: 65536, description: 'write-only: unencrypted PEM private key of clientCert, sealed at rest, never returned' })),
};

const AuthBody = {
  auth: Type.Optional(Fields.auth),
  oauth2TokenUrl: Type.Optional(Fields.oauth2TokenUrl),
  oauth2ClientId: Type.Optional(Fields.oauth2ClientId),
  oauth2Scope: Type.Optional(Fields.oauth2Scope),
  clientCert: Type.Optional(Fields.clientCert),
  clientKey: Type.Optional(Fields.clientKey),
};

const IdParams = Type.Object({ id: Type.String() });

const view = (c: Connection) => ({ ...c, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) });
const viewTest = (t: ConnectionTest) => ({ ...t, connection: view(t.connection), testedAt: iso(t.testedAt) });

export function connectionRoutes({ app, services }: ApiContext): void {
  app.get(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'List outbound connections (never their secrets)',
        querystring: PageQuery,
        response: { 200: pageOf(ConnectionSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.connections.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.post(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Add the smarthost for a domain or an address',
        body: Type.Object(
          {
            scopeKind: Fields.scopeKind,
            scope: Fields.scope,
            host: Fields.host,
            port: Type.Optional(Fields.port),
            tlsMode: Type.Optional(Fields.tlsMode),
            username: Type.Optional(Fields.username),
            secret: Type.Optional(Fields.secret),
            ...AuthBody,
          },
          { additionalProperties: false },
        ),
        response: { 201: ConnectionSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(view(await services.connections.create(request.body, request.actor))),
  );

  app.get(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Show an outbound connection (never its secret)',
        params: IdParams,
        response: { 200: ConnectionSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.connections.show(request.params.id)),
  );

  app.patch(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Change an outbound connection; username null removes the credentials; delivery uses the change within seconds',
        params: IdParams,
        body: Type.Object(
          {
            scopeKind: Type.Optional(Fields.scopeKind),
            scope: Type.Optional(Fields.scope),
            host: Type.Optional(Fields.host),
            port: Type.Optional(Fields.port),
            tlsMode: Type.Optional(Fields.tlsMode),
            username: Type.Optional(Fields.username),
            secret: Type.Optional(Fields.secret),
            ...AuthBody,
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: ConnectionSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.connections.update(request.params.id, request.body, request.actor)),
  );

  app.delete(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Remove an outbound connection; its mail falls back to the global smarthost',
        params: IdParams,
        response: { 200: ConnectionSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.connections.remove(request.params.id, request.actor)),
  );

  app.post(
    '/connections/:id/test',
    {
      schema: {
        tags: ['connections'],
        summary: "Connect, negotiate TLS, authenticate and quit, reporting each step with the server's reply; sends no mail",
        params: IdParams,
        response: { 200: TestSchema, ...errorResponses },
      },
    },
    async (request) => viewTest(await services.connections.test(request.params.id, request.actor)),
  );
}
