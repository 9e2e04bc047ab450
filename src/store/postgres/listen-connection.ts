import pg from 'pg';

/** Where the one LISTEN connection stands, for /readyz and /metrics. */
export interface ListenState {
  connected: boolean;
  /** When it last connected or was lost, epoch ms. */
  sinceMs: number;
  /** Times it came back after a loss, since start. */
  reconnects: number;
  /** What the server or the socket said when it was lost. */
  lostReason?: string;
}

export interface Listening {
  state(): ListenState;
  stop(): Promise<void>;
}

/** What the listener tells the operator: one line per loss and one per recovery, never one per retry. */
export interface ConnectionLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export interface ListenOptions {
  settings: pg.ClientConfig;
  channel: string;
  onNotify(): void;
  log?: ConnectionLog;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
}

/**
 * Reconnect delays: 100 ms doubling to 10 s. A failover usually completes within seconds, so
 * the first attempts come quickly; the cap keeps a long outage from costing more than one
 * connection attempt per instance every few seconds.
 */
const BACKOFF = { initialMs: 100, maxMs: 10_000 };

/**
 * One dedicated connection that LISTENs on `channel` in this connection's schema
 * (`channel:schema`: channels are per database, the schema keeps deployments sharing one
 * database apart). The first connection must succeed; once lost (a terminated backend, a
 * failover, a cut network) it is made again with backoff and jitter, and `onNotify` is called
 * once it is back, since a NOTIFY sent while it was gone reached nobody.
 */
export async function listenWithReconnect(o: ListenOptions): Promise<Listening> {
  const now = o.now ?? Date.now;
  const backoff = o.backoff ?? BACKOFF;
  const state: ListenState = { connected: false, sinceMs: now(), reconnects: 0 };
  let current: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const lost = (client: pg.Client, err: unknown): void => {
    if (client !== current || stopped) return;
    current = undefined;
    client.end().catch(() => undefined);
    Object.assign(state, { connected: false, sinceMs: now(), lostReason: reasonOf(err) });
    o.log?.warn(
      { channel: o.channel, reason: state.lostReason },
      'LISTEN connection to PostgreSQL lost; reconnecting (new work is found by polling meanwhile)',
    );
    scheduleRetry(backoff.initialMs, 1);
  };

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client(o.settings);
    client.on('error', (err) => lost(client, err));
    client.on('end', () => lost(client, new Error('connection ended')));
    try {
      await client.connect();
      const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
      const scoped = `${o.channel}:${rows[0]?.schema ?? 'public'}`;
      client.on('notification', (message) => {
        if (message.channel === scoped) o.onNotify();
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(scoped)}`);
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };

  const scheduleRetry = (delayMs: number, attempt: number): void => {
    // Half the delay fixed, half random: instances that lost the server together do not return in step.
    retry = setTimeout(() => void reconnect(delayMs, attempt), delayMs / 2 + Math.random() * (delayMs / 2));
    retry.unref();
  };

  const reconnect = async (delayMs: number, attempt: number): Promise<void> => {
    const downSinceMs = state.sinceMs;
    try {
      const client = await connect();
      if (stopped) return void (await client.end().catch(() => undefined));
      current = client;
      Object.assign(state, { connected: true, sinceMs: now(), reconnects: state.reconnects + 1, lostReason: undefined });
      o.log?.info({ channel: o.channel, attempts: attempt, downMs: now() - downSinceMs }, 'LISTEN connection to PostgreSQL re-established');
      o.onNotify();
    } catch {
      if (!stopped) scheduleRetry(Math.min(delayMs * 2, backoff.maxMs), attempt + 1);
    }
  };

  current = await connect();
  Object.assign(state, { connected: true, sinceMs: now() });
  return {
    state: () => ({ ...state }),
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}

function reasonOf(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return e?.message || e?.code || String(err);
}
