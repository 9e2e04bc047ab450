import type { Config } from '../config/schema.js';
import { mxTlsProber } from '../delivery/mx-tls-probe.js';
import { smarthostTrust } from '../delivery/smarthost-trust.js';
import { dkimSelectorsFor } from '../dkim/index.js';
import { type DomainChecker, domainChecker } from '../dns/check/index.js';
import { configuredResolver } from '../dns/index.js';
import { mtaStsFetcher } from '../dns/mta-sts-fetch.js';
import { findDomain } from '../store/credentials/find-domain.js';
import { sqlDkimKeyStore } from '../store/dkim-keys/index.js';
import type { StoreContext } from './store-context.js';

/** The probe of each MX answers a person waiting at the CLI or the console: a minute at most. */
const PROBE_SESSION_MS = 30_000;

/**
 * The DNS checker as configured: the gateway's resolver, and the MTA-STS fetch and MX probe
 * with the same trust and ports as direct delivery (delivery.caFile, delivery.mtaStsPort,
 * delivery.mxPort), so that the verdict is the one the delivery engine will reach.
 */
export function configuredDomainChecker(ctx: StoreContext, config: Config): DomainChecker {
  const resolver = configuredResolver(config.dnsResolver);
  return domainChecker({
    resolver,
    fetchMtaStsPolicy: mtaStsFetcher({ resolver, caFile: config.delivery.caFile, port: config.delivery.mtaStsPort }),
    probeMx: mxTlsProber({
      port: config.delivery.mxPort,
      heloName: config.hostname,
      ca: smarthostTrust(config.delivery.caFile),
      connectMs: Math.min(config.delivery.connectTimeout, PROBE_SESSION_MS),
      sessionMs: Math.min(config.delivery.greetingTimeout, PROBE_SESSION_MS),
    }),
    isClaimed: async (domain) => (await findDomain(ctx.db, domain)) !== undefined,
    dkimSelectorsFor: (domain) => dkimSelectorsFor(sqlDkimKeyStore(ctx.db), domain),
    gatewayHostname: config.hostname,
    clock: ctx.clock,
  });
}
