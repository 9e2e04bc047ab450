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
  log?: ConnectionLog;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
}

/** The one LISTEN connection of a process, for as many channels as its parts listen on. */
export interface SharedListening extends Listening {
  /** LISTENs on `channel` too, on this connection and every one it is made again as; `onNotify` at each NOTIFY and after each loss. */
  add(channel: string, onNotify: () => void): Promise<void>;
  /** Takes `onNotify` off `channel`, and UNLISTENs once the channel has no one left. */
  remove(channel: string, onNotify: () => void): Promise<void>;
  /** Channels listened on. */
  channels(): number;
}

/**
 * Reconnect delays: 100 ms doubling to 10 s. A failover usually completes within seconds, so
 * the first attempts come quickly; the cap keeps a long outage from costing more than one
 * connection attempt per instance every few seconds.
 */
const BACKOFF = { initialMs: 100, maxMs: 10_000 };

/**
 * One dedicated connection that LISTENs on each added channel in this connection's schema
 * (`channel:schema`: channels are per database, the schema keeps deployments sharing one
 * database apart). The first connection must succeed; once lost (a terminated backend, a
 * failover, a cut network) it is made again with backoff and jitter, LISTENs again, and every
 * channel's `onNotify` is called once it is back, since a NOTIFY sent while it was gone
 * reached nobody.
 */
export async function listenWithReconnect(o: ListenOptions): Promise<SharedListening> {
  const now = o.now ?? Date.now;
  const backoff = o.backoff ?? BACKOFF;
  const state: ListenState = { connected: false, sinceMs: now(), reconnects: 0 };
  /** Channel → what its NOTIFY wakes. */
  const channels = new Map<string, Set<() => void>>();
  const wakeAll = (): void => {
    for (const wakes of channels.values()) for (const onNotify of wakes) onNotify();
  };
  let schema = 'public';
  let current: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const scoped = (channel: string) => pg.escapeIdentifier(`${channel}:${schema}`);

  const lost = (client: pg.Client, err: unknown): void => {
    if (client !== current || stopped) return;
    current = undefined;
    client.end().catch(() => undefined);
    Object.assign(state, { connected: false, sinceMs: now(), lostReason: reasonOf(err) });
    o.log?.warn(
      { channels: [...channels.keys()], reason: state.lostReason },
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
      schema = rows[0]?.schema ?? 'public';
      const suffix = `:${schema}`;
      client.on('notification', (message) => {
        if (!message.channel.endsWith(suffix)) return;
        for (const onNotify of channels.get(message.channel.slice(0, -suffix.length)) ?? []) onNotify();
      });
      for (const channel of channels.keys()) await client.query(`LISTEN ${scoped(channel)}`);
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
      o.log?.info({ channels: [...channels.keys()], attempts: attempt, downMs: now() - downSinceMs }, 'LISTEN connection to PostgreSQL re-established');
      wakeAll();
    } catch {
      if (!stopped) scheduleRetry(Math.min(delayMs * 2, backoff.maxMs), attempt + 1);
    }
  };

  current = await connect();
  Object.assign(state, { connected: true, sinceMs: now() });
  return {
    state: () => ({ ...state }),
    async add(channel, onNotify) {
      const wakes = channels.get(channel);
      if (wakes) return void wakes.add(onNotify);
      channels.set(channel, new Set([onNotify]));
      // A connection lost meanwhile LISTENs on it with the others once it is made again.
      await current?.query(`LISTEN ${scoped(channel)}`).catch(() => undefined);
    },
    async remove(channel, onNotify) {
      const wakes = channels.get(channel);
      wakes?.delete(onNotify);
      if (!wakes || wakes.size > 0) return;
      channels.delete(channel);
      await current?.query(`UNLISTEN ${scoped(channel)}`).catch(() => undefined);
    },
    channels: () => channels.size,
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
