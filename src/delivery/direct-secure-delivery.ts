import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { checkDirectDelivery, type DirectDeliveryVerdict } from '../dns/check/index.js';
import { configuredResolver } from '../dns/index.js';
import { mtaStsFetcher } from '../dns/mta-sts-fetch.js';
import type { Clock } from '../lib/clock.js';
import type { DeliveryEvidence, DeliveryOutcome, FailureReason, PeerAuthentication } from '../model/outcome.js';
import type { TlsRequirement } from '../model/states.js';
import type { DirectAttempt, DirectDelivery } from '../secure/secure-courier.js';
import type { Courier } from './courier.js';
import { mtaStsPolicies } from './mta-sts.js';
import { mxCourier } from './mx-courier.js';
import type { DirectDeliveryDomains } from './secure-delivery-store.js';
import { smarthostTrust } from './smarthost-trust.js';
import { deliveryTimeouts } from './smtp-timeouts.js';

export interface DirectSecureDeliveryOptions {
  domains: DirectDeliveryDomains;
  /** The domain's direct-delivery verdict, asked afresh at every call. */
  proof(domain: string): Promise<DirectDeliveryVerdict>;
  /** Direct MX delivery that holds every MX host of the domain to `requirement`. */
  courier(requirement: TlsRequirement): Courier;
  clock: Clock;
  log: Logger;
}

/** Why a recipient of a flagged domain got the portal instead: what was checked, and the attempt that failed it. */
export interface ProofEvidence {
  checkedAt: string;
  verdict: DirectDeliveryVerdict;
  /** The direct attempt, when the DNS proof held and the MX was tried; null otherwise. */
  attempt: { reason: FailureReason; reply: string } | null;
}

/** Failures that say the MX did not prove itself as the DNS promised: the proof does not hold. */
const PROOF_FAILURES: readonly FailureReason[] = ['dane', 'mta-sts', 'tls-policy', 'tls'];
const AUTHENTICATED: readonly PeerAuthentication[] = ['DANE-EE', 'DANE-TA', 'PKIX'];

/**
 * Inbound direct delivery (IDD), decided per recipient at each attempt: the recipient's domain
 * must be flagged (in any organisation: the claim is what counts), its DNS must prove DNSSEC +
 * DANE or DNSSEC + PKIX right now, and the MX must then authenticate as that proof says. The
 * courier is held to DANE when the verdict was DANE (no fallback to a CA chain) and to an
 * authenticated certificate otherwise. A proof that fails sends the recipient to the portal
 * (never a downgrade); a plain delivery failure waits for the next attempt and a new proof.
 */
export function directSecureDelivery(o: DirectSecureDeliveryOptions): DirectDelivery {
  return {
    async attempt(message, recipient): Promise<DirectAttempt | undefined> {
      const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
      if (!(await o.domains.isFlagged(domain))) return undefined;
      const checkedAt = new Date(o.clock.now()).toISOString();
      const verdict = await o.proof(domain).catch(
        (err: unknown): DirectDeliveryVerdict => ({
          level: 'not-possible',
          text: 'not possible',
          reasons: [`the DNS check failed: ${(err as Error).message}`],
        }),
      );
      if (verdict.level === 'not-possible') {
        const reason = `the DNS of ${domain} does not prove a secure transport: ${verdict.reasons.join('; ')}`;
        return fallback(message.id, reason, { checkedAt, verdict, attempt: null });
      }
      const outcomes = await o.courier(verdict.level === 'dnssec+dane' ? 'dane' : 'verified').deliver({ ...message, recipients: [recipient] });
      const outcome: DeliveryOutcome = outcomes.get(recipient) ?? { kind: 'deferred', reason: 'unknown', reply: 'no outcome for the direct delivery' };
      if (outcome.kind === 'deferred' && PROOF_FAILURES.includes(outcome.reason)) {
        const reason = `the MX of ${domain} did not authenticate as its DNS proof requires: ${outcome.reply}`;
        return fallback(message.id, reason, { checkedAt, verdict, attempt: { reason: outcome.reason, reply: outcome.reply } });
      }
      if (outcome.kind === 'delivered' && outcome.evidence && !proven(outcome.evidence)) {
        // Too late to take back; the courier's requirement makes this a race with a DNS change.
        o.log.error(
          { event: 'secure.direct.unproven', queueId: message.id, domain, evidence: outcome.evidence },
          'delivered directly without the expected proof',
        );
      }
      return { kind: 'outcome', outcome };
    },
  };

  function fallback(queueId: string, reason: string, evidence: ProofEvidence): DirectAttempt {
    o.log.info({ event: 'secure.direct.fallback', queueId, reason }, 'inbound direct delivery not possible; the recipient gets the portal');
    return { kind: 'fallback', reason, evidence };
  }
}

/** What the delivery showed of the peer: found through DNSSEC, and authenticated. */
function proven(e: DeliveryEvidence): boolean {
  return e.dnssec.mx === 'secure' && AUTHENTICATED.includes(e.peerAuthentication);
}

/**
 * IDD as configured: the uncached configured resolver (the process-wide cache could hide a zone
 * that just went bogus), the MTA-STS fetch and trust of direct delivery, `delivery.mxPort`.
 * It works whether or not `delivery.direct` sends plain mail to MX hosts too. `sign` adds the
 * DKIM signatures plain outbound mail gets; `capture` (the sandbox) takes the place of the MX.
 */
export function configuredDirectSecureDelivery(
  config: Pick<Config, 'delivery' | 'dnsResolver' | 'hostname'>,
  deps: { domains: DirectDeliveryDomains; clock: Clock; log: Logger; sign(courier: Courier): Courier; capture?: Courier | undefined },
): DirectDelivery {
  const { clock, log } = deps;
  const resolver = configuredResolver(config.dnsResolver);
  const fetch = mtaStsFetcher({ resolver, caFile: config.delivery.caFile, port: config.delivery.mtaStsPort });
  const mtaSts = mtaStsPolicies({ resolver, fetch, clock, log });
  const ca = smarthostTrust(config.delivery.caFile);
  return directSecureDelivery({
    domains: deps.domains,
    clock,
    log,
    proof: (domain) => checkDirectDelivery({ resolver, fetchMtaStsPolicy: fetch, clock }, domain),
    courier: (requirement) =>
      deps.sign(
        deps.capture ??
          mxCourier({
            resolver,
            port: config.delivery.mxPort,
            heloName: config.hostname,
            ca,
            timeouts: deliveryTimeouts(config),
            requirements: { requirementFor: async () => requirement },
            mtaSts,
            log,
          }),
      ),
  });
}
