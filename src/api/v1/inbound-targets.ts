import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Actor } from '../../directory/context.js';
import { DEFAULT_ROTATION_OVERLAP_MS, type InboundTarget, type InboundTargetDirectory } from '../../directory/inbound-targets.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, Timestamp } from '../schemas.js';

const TargetSchema = Type.Object({
  id: Type.String(),
  domain: Type.Union([Type.Null(), Type.String()], { description: "null for the organisation's default target, else the domain it applies to" }),
  kind: Type.Enum(['webhook', 'smtp'], { description: 'webhook: a signed POST of each message as JSON; smtp: a forward to forwardTo' }),
  url: Type.Union([Type.Null(), Type.String()], { description: 'the webhook URL (kind webhook)' }),
  forwardTo: Type.Union([Type.Null(), Type.String()], { description: "the application's inbound address (kind smtp)" }),
  synchronous: Type.Boolean({ description: "the SMTP reply waits for the application's answer (webhooks only)" }),
  previousSecretUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'after a rotation, the previous signing secret signs beside the new one until then',
  }),
  disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description:
      'set when the webhook answered 410 Gone: nothing is sent until it is enabled again (POST …/enable); new mail gets 450 4.2.1, queued mail waits',
  }),
  disabledReason: Type.Union([Type.String(), Type.Null()], { description: 'the answer that disabled it' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const Secret = Type.String({
  description: 'the webhook signing secret (whsec_…, Standard Webhooks): returned once, never again; configure it in the application to verify signatures',
});

const TargetBody = Type.Object(
  {
    kind: Type.Enum(['webhook', 'smtp']),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'kind webhook: https://app.example.com/hooks/mail' })),
    forwardTo: Type.Optional(Type.String({ minLength: 3, maxLength: 320, description: 'kind smtp: the address to forward to' })),
    synchronous: Type.Optional(Type.Boolean({ description: "kind webhook: the SMTP reply waits for the application's answer (default false)" })),
  },
  { additionalProperties: false },
);

const RotateBody = Type.Object(
  {
    overlapSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 30 * 24 * 3600,
        default: DEFAULT_ROTATION_OVERLAP_MS / 1000,
        description: 'how long the previous secret keeps signing beside the new one; 0 retires it at once',
      }),
    ),
  },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Type.String({ description: 'the domain name, e.g. example.com' }) });

const view = (t: InboundTarget) => ({
  ...t,
  previousSecretUntil: iso(t.previousSecretUntil),
  disabledAt: iso(t.disabledAt),
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
});

const TAGS = ['inbound targets'];

/** The same five operations on the organisation's target and on a domain's; `which` names the one in the summaries. */
const schemas = (which: string) => ({
  set: {
    tags: TAGS,
    summary: `Set ${which}`,
    description:
      'Creates or replaces the target. A new webhook target answers with its signing secret, once; a webhook that already had one keeps it ' +
      '(a new URL needs no change in the application), see rotate-secret. Webhook URLs must be https:// on a public address: a literal ' +
      'loopback, private, link-local, unique-local, CGNAT, unspecified, IPv4-mapped or other special-purpose address, and localhost, are refused ' +
      '(unless inbound.allowPrivateWebhooks), as are user names, passwords and fragments in the URL. Setting a disabled target enables it.',
    body: TargetBody,
    response: { 200: Type.Object({ ...TargetSchema.properties, secret: Type.Optional(Secret) }), ...errorResponses },
  },
  get: { tags: TAGS, summary: `Show ${which} (never its secret)`, response: { 200: TargetSchema, ...errorResponses } },
  remove: { tags: TAGS, summary: `Remove ${which}`, response: { 200: TargetSchema, ...errorResponses } },
  rotate: {
    tags: TAGS,
    summary: `Replace the webhook signing secret of ${which}; the new one is returned once`,
    description:
      'The previous secret keeps signing beside the new one for overlapSeconds (default a day), so the application can switch without a rejected delivery.',
    body: RotateBody,
    response: { 200: Type.Object({ ...TargetSchema.properties, secret: Secret }), ...errorResponses },
  },
  enable: {
    tags: TAGS,
    summary: `Enable ${which} again after its webhook answered 410 Gone`,
    description: 'The mail and delivery events that waited are sent at once. Enabling a target that is not disabled changes nothing.',
    response: { 200: TargetSchema, ...errorResponses },
  },
});

export function inboundTargetRoutes(ctx: ApiContext): void {
  ctx.app.get(
    '/inbound-targets',
    {
      schema: {
        tags: TAGS,
        summary: "The inbound targets: the organisation's default and each domain's own (never their secrets)",
        response: { 200: Type.Object({ items: Type.Array(TargetSchema) }), ...errorResponses },
      },
    },
    async () => ({ items: (await ctx.services.inboundTargets.list()).map(view) }),
  );
  organisationTarget(ctx);
  domainTarget(ctx);
}

function organisationTarget({ app, services }: ApiContext): void {
  const path = '/inbound-targets/organisation';
  const schema = schemas("the organisation's default target (for domains without their own)");
  const act = actions(services.inboundTargets);
  app.put(path, { schema: schema.set }, (request) => act.set(undefined, request.body, request.actor));
  app.get(path, { schema: schema.get }, () => act.get(undefined));
  app.delete(path, { schema: schema.remove }, (request) => act.remove(undefined, request.actor));
  app.post(`${path}/rotate-secret`, { schema: schema.rotate, preValidation: emptyBodyIsDefaults }, (request) =>
    act.rotate(undefined, request.body, request.actor),
  );
  app.post(`${path}/enable`, { schema: schema.enable }, (request) => act.enable(undefined, request.actor));
}

function domainTarget({ app, services }: ApiContext): void {
  const path = '/domains/:name/inbound-target';
  const schema = schemas("a domain's own target");
  const act = actions(services.inboundTargets);
  app.put(path, { schema: { ...schema.set, params: NameParams } }, (request) => act.set(request.params.name, request.body, request.actor));
  app.get(path, { schema: { ...schema.get, params: NameParams } }, (request) => act.get(request.params.name));
  app.delete(path, { schema: { ...schema.remove, params: NameParams } }, (request) => act.remove(request.params.name, request.actor));
  app.post(`${path}/rotate-secret`, { schema: { ...schema.rotate, params: NameParams }, preValidation: emptyBodyIsDefaults }, (request) =>
    act.rotate(request.params.name, request.body, request.actor),
  );
  app.post(`${path}/enable`, { schema: { ...schema.enable, params: NameParams } }, (request) => act.enable(request.params.name, request.actor));
}

/** A POST without a body means every default; Fastify would otherwise validate the missing body as null and refuse it. */
async function emptyBodyIsDefaults(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/** The service calls behind both scopes; `domain` undefined is the organisation's target. */
function actions(targets: InboundTargetDirectory) {
  return {
    async set(domain: string | undefined, body: Static<typeof TargetBody>, actor: Actor) {
      const { target, secret } = await targets.set({ ...body, domain }, actor);
      return { ...view(target), ...(secret === null ? {} : { secret }) };
    },
    get: async (domain: string | undefined) => view(await targets.get(domain)),
    remove: async (domain: string | undefined, actor: Actor) => view(await targets.remove(domain, actor)),
    async rotate(domain: string | undefined, body: Static<typeof RotateBody>, actor: Actor) {
      const overlapMs = (body.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_MS / 1000) * 1000;
      const { target, secret } = await targets.rotateSecret(domain, overlapMs, actor);
      return { ...view(target), secret };
    },
    enable: async (domain: string | undefined, actor: Actor) => view(await targets.enable(domain, actor)),
  };
}
