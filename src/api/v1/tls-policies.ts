import { Type } from 'typebox';
import { type DeliveryPolicy, REQUIREMENT_HELP, TLS_REQUIREMENTS } from '../../directory/delivery-policies.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf } from '../schemas.js';

const Requirement = Type.Enum([...TLS_REQUIREMENTS], {
  description: TLS_REQUIREMENTS.map((r) => `${r}: ${REQUIREMENT_HELP[r]}`).join('; '),
});
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const PolicySchema = Type.Object({
  domain: Type.String({ description: 'the recipient domain, exactly (not its subdomains)' }),
  require: Requirement,
  createdAt: Time,
  updatedAt: Time,
});

const DomainParams = Type.Object({ domain: Type.String({ minLength: 1, maxLength: 253 }) });

const view = (p: DeliveryPolicy) => ({ ...p, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt) });

/**
 * Per recipient domain TLS requirements for direct MX delivery. They only ever make delivery
 * stricter than the domain's own DANE or MTA-STS policy; a message that cannot meet one waits
 * in the queue with a reason naming the check.
 */
export function tlsPolicyRoutes({ app, services }: ApiContext): void {
  app.get(
    '/tls-policies',
    {
      schema: {
        tags: ['tls-policies'],
        summary: 'List the TLS requirements set per recipient domain',
        querystring: PageQuery,
        response: { 200: pageOf(PolicySchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.tlsPolicies.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.get(
    '/tls-policies/:domain',
    {
      schema: {
        tags: ['tls-policies'],
        summary: "Show a recipient domain's TLS requirement",
        params: DomainParams,
        response: { 200: PolicySchema, ...errorResponses },
      },
    },
    async (request) => view(await services.tlsPolicies.show(request.params.domain)),
  );

  app.put(
    '/tls-policies/:domain',
    {
      schema: {
        tags: ['tls-policies'],
        summary: 'Set (or replace) the TLS requirement for mail to a recipient domain; delivery applies it at the next attempt',
        params: DomainParams,
        body: Type.Object({ require: Requirement }, { additionalProperties: false }),
        response: { 200: PolicySchema, ...errorResponses },
      },
    },
    async (request) => view(await services.tlsPolicies.set(request.params.domain, request.body.require, request.actor)),
  );

  app.delete(
    '/tls-policies/:domain',
    {
      schema: {
        tags: ['tls-policies'],
        summary: "Remove a recipient domain's TLS requirement; the domain's own DANE or MTA-STS policy still applies",
        params: DomainParams,
        response: { 200: PolicySchema, ...errorResponses },
      },
    },
    async (request) => view(await services.tlsPolicies.remove(request.params.domain, request.actor)),
  );
}
