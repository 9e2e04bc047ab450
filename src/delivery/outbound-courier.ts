import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { SmarthostTarget } from '../config/smarthost-url.js';
import { mtaStsFetcher } from '../dns/mta-sts-fetch.js';
import type { DnsResolver } from '../dns/resolver.js';
import type { Clock } from '../lib/clock.js';
import type { Courier } from './courier.js';
import { type ConnectionSource, courierRouter } from './courier-router.js';
import { mtaStsPolicies } from './mta-sts.js';
import { mxCourier, type TlsRequirementSource } from './mx-courier.js';
import { smarthostCourier, unconfiguredCourier } from './smarthost.js';
import { smarthostTrust } from './smarthost-trust.js';
import { deliveryTimeouts } from './smtp-timeouts.js';

/** What direct MX delivery needs from the running gateway. */
export interface DirectDeliveryDeps {
  resolver: DnsResolver;
  requirements: TlsRequirementSource;
  log: Logger;
}

/**
 * The courier the queue worker delivers through: the organisation's outbound connections
 * per sender address or domain, else the global `smarthost`, else direct delivery to the
 * recipient domain's MX hosts (`delivery.direct`), else mail waits (unconfigured).
 * Every smarthost is trusted the same way, and the way `connection test` checks it.
 * `nextHop` replaces the couriers at the end of the path (the sandbox captures there, so
 * every decision before it is the one production would take).
 */
/** What the outbound couriers read of the configuration. */
export type OutboundConfig = Pick<Config, 'delivery' | 'dnsResolver' | 'hostname' | 'queue' | 'smarthost' | 'smarthostCaFile'>;

export function outboundCourier(
  config: OutboundConfig,
  connections: ConnectionSource,
  clock: Clock,
  direct?: DirectDeliveryDeps,
  nextHop?: (hop: NextHop) => Courier,
): Courier {
  const ca = smarthostTrust(config.smarthostCaFile);
  const smarthostFor = (target: SmarthostTarget) =>
    nextHop?.({ kind: 'smarthost', target }) ??
    smarthostCourier({ target, heloName: config.hostname, ca, maxConnections: Math.min(config.queue.concurrency, 8), timeouts: deliveryTimeouts(config) });
  const fallback = config.smarthost
    ? smarthostFor(config.smarthost)
    : config.delivery.direct && direct
      ? (nextHop?.({ kind: 'mx' }) ?? directCourier(config, direct, clock))
      : (nextHop?.({ kind: 'none' }) ?? unconfiguredCourier());
  return courierRouter({ connections, fallback, build: smarthostFor, clock });
}

/** Where the outbound path ends for a message: a smarthost, the recipients' MX hosts, or nowhere yet. */
export type NextHop = { kind: 'smarthost'; target: SmarthostTarget } | { kind: 'mx' } | { kind: 'none' };

function directCourier(config: OutboundConfig, deps: DirectDeliveryDeps, clock: Clock): Courier {
  const { resolver, log } = deps;
  const fetch = mtaStsFetcher({ resolver, caFile: config.delivery.caFile, port: config.delivery.mtaStsPort });
  return mxCourier({
    resolver,
    port: config.delivery.mxPort,
    heloName: config.hostname,
    ca: smarthostTrust(config.delivery.caFile),
    timeouts: deliveryTimeouts(config),
    requirements: deps.requirements,
    mtaSts: mtaStsPolicies({ resolver, fetch, clock, log }),
    log,
  });
}
