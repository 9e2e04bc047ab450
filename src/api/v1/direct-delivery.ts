import { Type } from 'typebox';
import { DirectDeliveryRefused, type DirectDeliveryState } from '../../directory/direct-delivery.js';
import type { ApiContext } from '../api-context.js';
import { sendProblem } from '../problem.js';
import { errorResponses, iso, Timestamp } from '../schemas.js';

const VerdictSchema = Type.Object(
  {
    level: Type.Enum(['dnssec+dane', 'dnssec+pkix', 'not-possible']),
    text: Type.String({ description: '"DNSSEC + DANE", "DNSSEC + PKIX" or "not possible, because …"' }),
    reasons: Type.Array(Type.String(), { description: 'each obstacle; empty when possible' }),
  },
  { description: "the DNS checker's direct-delivery verdict, asked when the request was made" },
);

const StateSchema = Type.Object({
  domain: Type.String(),
  enabled: Type.Boolean({ description: 'secure messages to the domain are delivered directly while the verdict holds at each attempt' }),
  changedAt: Timestamp,
  verdict: Type.Union([VerdictSchema, Type.Null()], { description: 'null when disabling: turning direct delivery off asks no DNS' }),
});

const view = (s: DirectDeliveryState) => ({ ...s, changedAt: iso(s.changedAt) });

/** Inbound direct delivery (IDD): secure messages handed to a claimed domain decrypted, only over a transport its DNS proves. */
export function directDeliveryRoutes({ app, services }: ApiContext): void {
  app.put(
    '/domains/:name/direct-delivery',
    {
      schema: {
        tags: ['domains'],
        summary: 'Turn inbound direct delivery of secure messages to a verified domain on or off',
        description:
          'Enabling runs the DNS check now and is refused (409, one error per reason) unless its direct-delivery verdict is DNSSEC + DANE or DNSSEC + PKIX. ' +
          'Delivery evaluates the verdict again at every attempt, per recipient, and sends the portal notification instead when it no longer holds. Disabling is always allowed.',
        params: Type.Object({ name: Type.String({ description: 'the domain name, e.g. example.com' }) }),
        body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: StateSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      try {
        return view(await services.directDelivery.set(request.params.name, request.body.enabled, request.actor));
      } catch (err) {
        if (!(err instanceof DirectDeliveryRefused)) throw err;
        const errors = err.verdict.reasons.map((problem) => ({ field: 'enabled', problem }));
        return sendProblem(reply, { status: 409, title: 'Direct delivery not possible', detail: err.message, errors });
      }
    },
  );
}
