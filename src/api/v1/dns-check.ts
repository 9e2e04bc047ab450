import { Type } from 'typebox';
import type { DomainCheck } from '../../dns/check/index.js';
import { domainNameProblem } from '../../dns/index.js';
import { invalid } from '../../model/directory-error.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses } from '../schemas.js';

const RecordSchema = Type.Object(
  {
    name: Type.String({ description: 'owner name, without the trailing dot' }),
    type: Type.Enum(['MX', 'TLSA', 'TXT']),
    value: Type.String({ description: 'the RDATA as a zone file writes it; TXT quoted and cut into 255-octet strings' }),
  },
  { description: 'a DNS record' },
);

const FindingSchema = Type.Object({
  check: Type.Enum(['dnssec', 'mx', 'tlsa', 'starttls', 'mta-sts', 'tls-rpt', 'spf', 'dkim', 'dmarc']),
  subject: Type.String({ description: 'the name looked up, e.g. _mta-sts.example.com or _25._tcp.mx.example.com' }),
  status: Type.Enum(['pass', 'warn', 'fail'], {
    description: 'fail: breaks direct delivery or mail authentication, or a record is wrong; warn: works but weaker, or an optional record is missing',
  }),
  summary: Type.String({ description: 'what was found and what it means, in one sentence' }),
  found: Type.Array(Type.String(), { description: 'the records found, as published' }),
  fix: Type.Union([
    Type.Object({
      action: Type.Enum(['publish', 'replace', 'remove', 'change']),
      records: Type.Array(RecordSchema, { description: 'the records to publish (or to replace the found ones with)' }),
      how: Type.String(),
      file: Type.Optional(
        Type.Object(
          { url: Type.String(), contentType: Type.String(), content: Type.String() },
          { description: 'a file to serve over HTTPS: the MTA-STS policy' },
        ),
      ),
    }),
    Type.Null(),
  ]),
});

const DomainCheckSchema = Type.Object({
  domain: Type.String(),
  checkedAt: Type.String({ format: 'date-time' }),
  findings: Type.Array(FindingSchema),
  directDelivery: Type.Object(
    {
      level: Type.Enum(['dnssec+dane', 'dnssec+pkix', 'not-possible']),
      text: Type.String({ description: '"DNSSEC + DANE", "DNSSEC + PKIX" or "not possible, because …"' }),
      reasons: Type.Array(Type.String(), { description: 'each obstacle; empty when possible' }),
    },
    {
      description:
        'whether secure messages may be delivered to the domain in the clear: MX DNSSEC-validated, and every MX host authenticated by DANE or listed by an MTA-STS policy in enforce mode',
    },
  ),
});

const view = (check: DomainCheck) => ({ ...check, checkedAt: new Date(check.checkedAt).toISOString() });

export function dnsCheckRoutes({ app, services }: ApiContext): void {
  app.get(
    '/dns-check/:domain',
    {
      schema: {
        tags: ['dns'],
        summary: "Check a domain's DNS: DNSSEC, MX, TLSA, MTA-STS, TLS-RPT, SPF, the gateway's DKIM keys, DMARC, and the direct-delivery verdict",
        description:
          'Looks everything up now through the configured resolver (nothing cached between checks), and fetches the MTA-STS policy over HTTPS when its TXT record announces one. ' +
          'Each host of a DNSSEC-validated MX is probed (EHLO, STARTTLS on delivery.mxPort, QUIT before any envelope): its certificate must match its TLSA records, or be valid for its name under an enforced MTA-STS policy, before the verdict allows direct delivery. ' +
          'Any domain can be checked, claimed or not; SPF, DKIM and DMARC are judged only for claimed domains, whose mail the gateway sends.',
        params: Type.Object({ domain: Type.String({ description: 'a domain name, lowercase, without a trailing dot', maxLength: 253 }) }),
        response: { 200: DomainCheckSchema, ...errorResponses },
      },
    },
    async (request) => {
      const problem = domainNameProblem(request.params.domain);
      if (problem) throw invalid('domain', `"${request.params.domain}" ${problem}`);
      return view(await services.dnsCheck.check(request.params.domain));
    },
  );
}
