import { Counter, Gauge, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, served at /metrics. One registry per gateway, so tests can run several. */
export function gatewayMetrics() {
  const registry = new Registry();
  return {
    registry,
    legChecks: new Counter({
      name: 'relaygate_connection_checks_total',
      help: 'Verification round trips of a connector leg that ended, by leg and result.',
      labelNames: ['domain', 'leg', 'result'] as const,
      registers: [registry],
    }),
    legUp: new Gauge({
      name: 'relaygate_connection_leg_up',
      help: '1 when the last check of the leg passed, 0 when it failed.',
      labelNames: ['domain', 'leg'] as const,
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
