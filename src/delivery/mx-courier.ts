import type { Logger } from 'pino';
import type { DnsResolver } from '../dns/resolver.js';
import type { DeliveryEvidence, DeliveryOutcome } from '../model/outcome.js';
import type { TlsRequirement } from '../model/states.js';
import { planHostTls } from '../policy/mx-tls-policy.js';
import type { Courier, OutboundMessage } from './courier.js';
import { lookUpTlsa, type TlsaLookup } from './dane.js';
import { type ActiveMtaStsPolicy, type MtaStsSource, policyListsHost } from './mta-sts.js';
import { lookUpAddresses, lookUpMxRoute, type MxHost, type MxRoute } from './mx-route.js';
import { type HostFailure, mxSession, type SessionOptions } from './mx-session.js';

/** The operator's per-domain TLS requirements (`relaygate tls-policy`), read at each delivery. */
export interface TlsRequirementSource {
  requirementFor(domain: string): Promise<TlsRequirement | undefined>;
}

export interface MxCourierOptions extends SessionOptions {
  resolver: DnsResolver;
  /** 25; tests dial an ephemeral port on the MX host's address. */
  port: number;
  requirements: TlsRequirementSource;
  mtaSts: MtaStsSource;
  log: Logger;
}

/** What one recipient domain's delivery needs besides the message. */
interface DomainDelivery {
  domain: string;
  route: Extract<MxRoute, { kind: 'hosts' }>;
  requirement: TlsRequirement | undefined;
  mtaSts: ActiveMtaStsPolicy | undefined;
  message: OutboundMessage;
  recipients: string[];
}

const OVERRIDE = { tls: 'require-tls', dane: 'require-dane', verified: 'require-verified' } as const;

/**
 * Direct delivery to each recipient domain's MX hosts, in preference order, one SMTP session
 * per attempt (RFC 5321 §5.1). Per host the strongest applicable rule decides how TLS must go
 * (policy/mx-tls-policy.ts: DANE, MTA-STS, the operator's requirement, REQUIRETLS); a host
 * that cannot meet it is skipped with a reason naming the failed check, and when no host is
 * left the recipients are deferred with those reasons: never a silent downgrade.
 */
export function mxCourier(o: MxCourierOptions): Courier {
  return {
    remote: undefined,

    async deliver(message) {
      const byDomain = new Map<string, string[]>();
      for (const address of message.recipients) {
        const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
        byDomain.set(domain, [...(byDomain.get(domain) ?? []), address]);
      }
      const results = await Promise.all([...byDomain].map(([domain, recipients]) => deliverToDomain(o, message, domain, recipients)));
      return new Map(results.flatMap((outcomes) => [...outcomes]));
    },

    async close() {},
  };
}

async function deliverToDomain(o: MxCourierOptions, message: OutboundMessage, domain: string, recipients: string[]): Promise<Map<string, DeliveryOutcome>> {
  const route = await lookUpMxRoute(o.resolver, domain);
  if (route.kind === 'null-mx') {
    const reply = `556 5.1.10 ${domain} does not accept mail (null MX, RFC 7505)`;
    return forAll(recipients, { kind: 'bounced', reason: 'dns', reply, status: '5.1.10' });
  }
  if (route.kind === 'no-domain') return forAll(recipients, { kind: 'bounced', reason: 'dns', reply: `550 5.1.2 ${route.detail}`, status: '5.1.2' });
  if (route.kind === 'failed') return forAll(recipients, { kind: 'deferred', reason: 'dns', reply: `dns: ${route.detail}` });
  const [requirement, mtaSts] = await Promise.all([o.requirements.requirementFor(domain), o.mtaSts.policyFor(domain)]);
  const delivery: DomainDelivery = { domain, route, requirement, mtaSts, message, recipients };
  const failures: HostFailure[] = [];
  for (const host of route.hosts) {
    const result = await tryHost(o, delivery, host);
    if (!Array.isArray(result)) return result;
    failures.push(...result);
  }
  return forAll(recipients, summarise(failures));
}

/** The outcomes when the host (one of its addresses) took the session; else why it could not be used. */
async function tryHost(o: MxCourierOptions, d: DomainDelivery, host: MxHost): Promise<Map<string, DeliveryOutcome> | HostFailure[]> {
  const addresses = await lookUpAddresses(o.resolver, host.name);
  if (addresses.kind === 'failed') return [{ reason: 'dns', text: `dns: ${addresses.detail}`, permanent: false }];
  // RFC 7672 §2.2: TLSA records count only when the MX and the host's addresses are DNSSEC-validated.
  const tlsa: TlsaLookup = d.route.secure && addresses.secure ? await lookUpTlsa(o.resolver, host.name) : { kind: 'none', dnssec: 'insecure' };
  if (tlsa.kind === 'failed') return [{ reason: 'dane', text: `dane: ${tlsa.detail}; ${host.name} is not used without it`, permanent: false }];
  const plan = planHostTls({
    domain: d.domain,
    mxHost: host.name,
    mxSecure: d.route.secure,
    dane: tlsa.kind,
    mtaSts: d.mtaSts ? { mode: d.mtaSts.mode, listsHost: policyListsHost(d.mtaSts, host.name) } : null,
    requirement: d.requirement,
    tlsRequired: d.message.tlsRequired,
  });
  if (plan.kind === 'refuse') return [{ reason: plan.check === 'requiretls' ? 'tls-policy' : plan.check, text: plan.problem, permanent: plan.permanent }];
  const known = {
    override: d.requirement ? OVERRIDE[d.requirement] : null,
    tlsRequired: d.message.tlsRequired ?? null,
    dnssec: { mx: d.route.secure ? 'secure' : 'insecure', tlsa: tlsaState(d.route.secure && addresses.secure, tlsa) },
    mtaSts: d.mtaSts ? { id: d.mtaSts.id, mode: d.mtaSts.mode } : null,
  } satisfies Partial<DeliveryEvidence>;
  const failures: HostFailure[] = [];
  for (const address of addresses.addresses) {
    const request = {
      host: host.name,
      address,
      port: o.port,
      plan,
      tlsa: tlsa.kind === 'usable' ? tlsa.records : [],
      message: d.message,
      recipients: d.recipients,
      known,
    };
    const result = await mxSession(request, o);
    if (result.kind === 'sent') {
      logPolicyFailures(o.log, d, result.outcomes);
      return result.outcomes;
    }
    failures.push(result.failure);
  }
  return failures;
}

function tlsaState(queried: boolean, tlsa: Exclude<TlsaLookup, { kind: 'failed' }>): DeliveryEvidence['dnssec']['tlsa'] {
  if (!queried) return 'not-queried';
  if (tlsa.kind === 'none') return tlsa.dnssec;
  return 'secure';
}

/**
 * No host took the message. REQUIRETLS refusals that retrying cannot cure bounce with 5.7.30
 * (RFC 8689 §4.2.1, §6); everything else defers, named after the first policy check that
 * failed when there was one, so `dane: …` is not hidden behind a later connection error.
 */
function summarise(failures: HostFailure[]): DeliveryOutcome {
  const reply = failures
    .map((f) => f.text)
    .join('; ')
    .slice(0, 500);
  if (failures.length > 0 && failures.every((f) => f.permanent)) {
    return { kind: 'bounced', reason: 'tls-policy', reply: `550 5.7.30 REQUIRETLS support required: ${reply}`.slice(0, 500), status: '5.7.30' };
  }
  const policy = failures.find((f) => f.reason === 'dane' || f.reason === 'mta-sts' || f.reason === 'tls-policy');
  const reason = (policy ?? failures.at(-1))?.reason ?? 'unknown';
  return { kind: 'deferred', reason, reply: reply || 'no MX host could be tried' };
}

/** MTA-STS testing and TLS-Required: No deliver despite a failed check; the operator still hears of it (RFC 8461 §5). */
function logPolicyFailures(log: Logger, d: DomainDelivery, outcomes: Map<string, DeliveryOutcome>): void {
  const evidence = [...outcomes.values()].flatMap((o) => (o.kind === 'delivered' && o.evidence ? [o.evidence] : []))[0];
  if (!evidence || evidence.policyFailures.length === 0) return;
  log.warn(
    {
      event: 'tls.policy.not-enforced',
      queueId: d.message.id,
      domain: d.domain,
      mx: evidence.mxHost,
      policy: evidence.policy,
      failures: evidence.policyFailures,
    },
    'delivered although a TLS policy check failed (MTA-STS testing or TLS-Required: No)',
  );
}

function forAll(recipients: string[], outcome: DeliveryOutcome): Map<string, DeliveryOutcome> {
  return new Map(recipients.map((address) => [address, outcome]));
}
