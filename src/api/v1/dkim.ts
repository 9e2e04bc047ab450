import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DEFAULT_GRACE_MS, type DkimKey, type DomainDkim } from '../../dkim/index.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, Timestamp } from '../schemas.js';

const State = Type.Enum(['pending', 'active', 'retiring', 'retired'], {
  description:
    'pending: generated, not yet seen in DNS; active: signs outbound mail; retiring: replaced, no longer signs, keep it published until retireAt; retired: its record may be removed',
});

const CheckSchema = Type.Object({
  outcome: Type.Enum(['published', 'mismatch', 'missing', 'dns_error'], {
    description: 'published: DNS shows exactly this key; mismatch: another value is there; missing: no record; dns_error: the lookup failed',
  }),
  detail: Type.String({ description: 'what was found, in one sentence' }),
  found: Type.Array(Type.String(), { description: 'the TXT values at the record name' }),
});

const KeySchema = Type.Object({
  id: Type.String(),
  selector: Type.String(),
  algorithm: Type.Enum(['rsa-sha256', 'ed25519-sha256']),
  state: State,
  record: Type.Object(
    {
      type: Type.Literal('TXT'),
      name: Type.String({ description: '<selector>._domainkey.<domain>' }),
      value: Type.String({ description: 'the whole TXT value' }),
      strings: Type.Array(Type.String(), { description: 'the value as character-strings of at most 255 octets, for DNS interfaces that need them split' }),
    },
    { description: 'the DNS record to publish' },
  ),
  createdAt: Timestamp,
  publishedSeenAt: Timestamp,
  activatedAt: Timestamp,
  retireAt: Timestamp,
  retiredAt: Timestamp,
  lastCheck: Type.Union([Type.Object({ at: Timestamp, ...CheckSchema.properties }), Type.Null()]),
  dns: Type.Union([CheckSchema, Type.Null()], { description: 'what DNS shows now; null when this answer did not look' }),
});

const DkimSchema = Type.Object({ domain: Type.String(), keys: Type.Array(KeySchema, { description: 'newest first' }) });

const Change = Type.Object({ selector: Type.String(), from: State, to: State });

const RotateBody = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 90 * 24 * 3600,
        default: DEFAULT_GRACE_MS / 1000,
        description: 'how long a replaced key stays published once its successor signs (default a week); 0 for a compromised key',
      }),
    ),
  },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Type.String({ description: 'the domain name, e.g. example.com' }) });

const viewKey = (k: DkimKey) => ({
  ...k,
  createdAt: iso(k.createdAt),
  publishedSeenAt: iso(k.publishedSeenAt),
  activatedAt: iso(k.activatedAt),
  retireAt: iso(k.retireAt),
  retiredAt: iso(k.retiredAt),
  lastCheck: k.lastCheck ? { ...k.lastCheck, at: iso(k.lastCheck.at) } : null,
});
const view = (d: DomainDkim) => ({ domain: d.domain, keys: d.keys.map(viewKey) });

const TAGS = ['dkim'];

export function dkimRoutes({ app, services }: ApiContext): void {
  app.get(
    '/domains/:name/dkim',
    {
      schema: {
        tags: TAGS,
        summary: "A domain's DKIM keys with the records to publish, each one's state and what DNS shows for it now",
        params: NameParams,
        response: { 200: DkimSchema, ...errorResponses },
      },
    },
    async (request) => view(await services.dkim.show(request.params.name)),
  );

  app.post(
    '/domains/:name/dkim/generate',
    {
      schema: {
        tags: TAGS,
        summary: 'Make an RSA-2048 and an Ed25519 key, pending until DNS shows them; 409 when the domain has keys (rotate instead)',
        params: NameParams,
        response: { 201: DkimSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(view(await services.dkim.generate(request.params.name, request.actor))),
  );

  app.post(
    '/domains/:name/dkim/check',
    {
      schema: {
        tags: TAGS,
        summary:
          'Look the keys up in DNS and apply what it shows: pending keys DNS publishes start signing, replaced ones start their grace period, expired ones retire',
        description: 'Answers 200 with the keys, what DNS showed for each (dns) and the state changes made; a failed lookup changes nothing.',
        params: NameParams,
        response: { 200: Type.Object({ ...DkimSchema.properties, changes: Type.Array(Change) }), ...errorResponses },
      },
    },
    async (request) => {
      const checked = await services.dkim.check(request.params.name, request.actor);
      return { ...view(checked), changes: checked.changes };
    },
  );

  app.post(
    '/domains/:name/dkim/rotate',
    {
      schema: {
        tags: TAGS,
        summary: 'Make the next key pair, pending while the current keys keep signing',
        description:
          'Publish the new records, then check: each new key signs once DNS shows it, and the key it replaces stays published for graceSeconds. Pending keys never seen in DNS are superseded.',
        params: NameParams,
        body: RotateBody,
        response: { 200: DkimSchema, ...errorResponses },
      },
      preValidation: emptyBodyIsDefaults,
    },
    async (request) => view(await services.dkim.rotate(request.params.name, (request.body.graceSeconds ?? DEFAULT_GRACE_MS / 1000) * 1000, request.actor)),
  );
}

/** A POST without a body means every default; Fastify would otherwise validate the missing body as null and refuse it. */
async function emptyBodyIsDefaults(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}
