import type { Config } from '../config/schema.js';
import type { DirectoryContext } from '../directory/context.js';
import { dkimSelectorsFor } from '../dkim/index.js';
import { type DomainChecker, domainChecker } from '../dns/check/index.js';
import { configuredResolver } from '../dns/index.js';
import { mtaStsFetcher } from '../dns/mta-sts-fetch.js';

/**
 * The DNS checker as configured: the gateway's resolver, and the MTA-STS fetch with the same
 * trust and port as direct delivery (delivery.caFile, delivery.mtaStsPort), so that the
 * verdict is the one the delivery engine will reach.
 */
export function configuredDomainChecker(ctx: DirectoryContext, config: Config): DomainChecker {
  const resolver = configuredResolver(config.dnsResolver);
  return domainChecker({
    resolver,
    fetchMtaStsPolicy: mtaStsFetcher({ resolver, caFile: config.delivery.caFile, port: config.delivery.mtaStsPort }),
    dkimSelectorsFor: (domain) => dkimSelectorsFor(ctx.db, domain),
    gatewayHostname: config.hostname,
    clock: ctx.clock,
  });
}
