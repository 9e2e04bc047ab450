import type { SmarthostTarget } from '../config/smarthost-url.js';
import type { Clock } from '../lib/clock.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import { scopesFor } from './connection-scope.js';
import type { Courier, OutboundMessage } from './courier.js';

/** An outbound connection as delivery needs it: where it applies, and how to reach it. */
export interface RoutableConnection {
  id: string;
  /** A domain or an address, normalised (see connection-scope.ts). */
  scope: string;
  /** Changes whenever the connection does: a new value rebuilds its pool. */
  updatedAt: number;
  /** Opens the sealed secret; throws when it cannot be opened. */
  target(): SmarthostTarget;
}

export interface ConnectionSource {
  routable(): Promise<RoutableConnection[]>;
}

export interface CourierRouterOptions {
  connections: ConnectionSource;
  /** For senders no connection claims: the global smarthost, or the unconfigured courier. */
  fallback: Courier;
  /** A pool for one connection. */
  build(target: SmarthostTarget): Courier;
  clock: Clock;
  /** How long a look-up of the connections is reused; changes take effect within it. */
  refreshMs?: number;
}

interface Pool {
  updatedAt: number;
  courier: Courier;
  inFlight: number;
  retired: boolean;
}

/**
 * Picks the next hop per message: the connection whose scope is the envelope sender's
 * address, else its domain, else the fallback. A DSN (null sender) is matched on its
 * recipient instead: it goes back to the organisation's own domain, through that domain's
 * smarthost. Pools are kept per connection and rebuilt when the connection changes; a
 * replaced pool is closed once the deliveries using it have finished.
 */
export function courierRouter(options: CourierRouterOptions): Courier {
  const refreshMs = options.refreshMs ?? 2000;
  const pools = new Map<string, Pool>();
  let byScope = new Map<string, Pool>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    if (options.clock.now() - loadedAt < refreshMs) return;
    loading ??= load().finally(() => {
      loading = undefined;
    });
    await loading;
  }

  async function load(): Promise<void> {
    const connections = await options.connections.routable();
    const next = new Map<string, Pool>();
    const live = new Set<string>();
    for (const connection of connections) {
      live.add(connection.id);
      next.set(connection.scope, poolFor(connection));
    }
    for (const [id, pool] of pools) if (!live.has(id)) retire(id, pool);
    byScope = next;
    loadedAt = options.clock.now();
  }

  function poolFor(connection: RoutableConnection): Pool {
    const existing = pools.get(connection.id);
    if (existing && existing.updatedAt === connection.updatedAt) return existing;
    if (existing) retire(connection.id, existing);
    const pool: Pool = { updatedAt: connection.updatedAt, courier: buildCourier(connection), inFlight: 0, retired: false };
    pools.set(connection.id, pool);
    return pool;
  }

  function buildCourier(connection: RoutableConnection): Courier {
    try {
      return options.build(connection.target());
    } catch (err) {
      return unusableCourier(connection.id, err);
    }
  }

  function retire(id: string, pool: Pool): void {
    if (pools.get(id) === pool) pools.delete(id);
    pool.retired = true;
    if (pool.inFlight === 0) void pool.courier.close();
  }

  async function deliverThrough(pool: Pool | undefined, message: OutboundMessage): Promise<Map<string, DeliveryOutcome>> {
    if (!pool) return options.fallback.deliver(message);
    pool.inFlight += 1;
    try {
      return await pool.courier.deliver(message);
    } finally {
      pool.inFlight -= 1;
      if (pool.retired && pool.inFlight === 0) void pool.courier.close();
    }
  }

  return {
    // Remote-MTA in DSNs: the fallback's host; a per-connection name needs the outcome to carry it.
    remote: options.fallback.remote,

    async deliver(message) {
      try {
        await refresh();
      } catch (err) {
        // The last look-up still holds; without one we cannot tell which smarthost may carry this mail: wait, never guess.
        if (loadedAt === Number.NEGATIVE_INFINITY) return deferAll(message.recipients, `outbound connections could not be read: ${String(err)}`);
      }
      const groups = groupByPool(message, (address) =>
        scopesFor(address)
          .map((scope) => byScope.get(scope))
          .find((pool) => pool !== undefined),
      );
      const results = await Promise.all([...groups].map(([pool, recipients]) => deliverThrough(pool, { ...message, recipients })));
      return new Map(results.flatMap((outcomes) => [...outcomes]));
    },

    async close() {
      for (const [id, pool] of pools) retire(id, pool);
      await options.fallback.close();
    },
  };
}

/** One group for a sender's (or a forward's) message; per recipient for a DSN, whose sender is null. */
function groupByPool(message: OutboundMessage, pick: (address: string) => Pool | undefined): Map<Pool | undefined, string[]> {
  if (message.routeAs) return new Map([[pick(message.routeAs), message.recipients]]);
  if (message.mailFrom !== '') return new Map([[pick(message.mailFrom), message.recipients]]);
  const groups = new Map<Pool | undefined, string[]>();
  for (const address of message.recipients) {
    const pool = pick(address);
    groups.set(pool, [...(groups.get(pool) ?? []), address]);
  }
  return groups;
}

/** A connection whose secret does not open (another key-encryption key, or an altered row): mail waits, and says why. */
function unusableCourier(connectionId: string, err: unknown): Courier {
  const reply = `outbound connection ${connectionId} cannot be used: ${err instanceof Error ? err.message : String(err)}`;
  return {
    remote: undefined,
    deliver: async (message) => deferAll(message.recipients, reply),
    async close() {},
  };
}

function deferAll(recipients: string[], reply: string): Map<string, DeliveryOutcome> {
  const outcome: DeliveryOutcome = { kind: 'deferred', reason: 'config', reply };
  return new Map(recipients.map((address) => [address, outcome]));
}
