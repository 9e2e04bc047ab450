import type { Config } from '../config/schema.js';
import type { SmarthostTarget } from '../config/smarthost-url.js';
import type { Clock } from '../lib/clock.js';
import type { Courier } from './courier.js';
import { type ConnectionSource, courierRouter } from './courier-router.js';
import { smarthostCourier, unconfiguredCourier } from './smarthost.js';
import { smarthostTrust } from './smarthost-trust.js';

/**
 * The courier the queue worker delivers through: the organisation's outbound connections
 * per sender address or domain, else the global `smarthost`, else mail waits (unconfigured).
 * Every smarthost is trusted the same way, and the way `connection test` checks it.
 */
export function outboundCourier(config: Config, connections: ConnectionSource, clock: Clock): Courier {
  const ca = smarthostTrust(config.smarthostCaFile);
  const smarthostFor = (target: SmarthostTarget) =>
    smarthostCourier({ target, heloName: config.hostname, ca, maxConnections: Math.min(config.queue.concurrency, 8) });
  return courierRouter({
    connections,
    fallback: config.smarthost ? smarthostFor(config.smarthost) : unconfiguredCourier(),
    build: smarthostFor,
    clock,
  });
}
