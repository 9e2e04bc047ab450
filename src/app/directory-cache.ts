import type { Listening } from '../store/postgres/listen-connection.js';

/**
 * How a cached read stays right: `cached` answers from memory until the directory changes
 * (told by PostgreSQL's NOTIFY at once, or found by the poll); `checked` first asks the store
 * for the directory's version (one indexed row), so a revocation holds from the next AUTH or
 * MAIL FROM on, even before any notice arrives.
 */
export type Freshness = 'cached' | 'checked';

export interface DirectoryCacheStats {
  hits: number;
  misses: number;
  /** Times the cache was emptied because the directory changed (or a LISTEN connection came back). */
  clears: number;
  entries: number;
}

export interface DirectoryCache {
  /** `store` with the named reads answered from the cache; its other methods (changes among them) as they are. */
  over<T extends object>(store: T, reads: { [K in keyof T]?: Freshness }): T;
  stats(): DirectoryCacheStats;
  stop(): Promise<void>;
}

export interface DirectoryCacheOptions {
  /** The directory's version (src/store/directory-version.ts). */
  version(): Promise<string>;
  /** PostgreSQL: `onChange` at every committed directory change of any instance, and after a lost LISTEN connection is back. */
  listen?: (onChange: () => void) => Promise<Listening>;
  /** How often the version is asked when nothing has told of a change: the CLI or another instance may have written. */
  pollMs: number;
  /** The first failure of a run of failed polls (the store unreachable, locked); the next success ends the run. */
  onPollError(err: unknown): void;
}

/** Distinct usernames and domain lists an attacker may ask for are bounded by this: past it the cache starts over. */
const MAX_ENTRIES = 10_000;

/**
 * One process's cache of the directory a session reads: about a dozen queries per session
 * (credential, allowed networks, sender domains, route table, default action, organisation)
 * become one version check. Entries are promises, so concurrent sessions share one load; a
 * failed load is not kept. An entry's load is always started after the last clear, so it can
 * only have read data at least as new as the version the cache last saw.
 */
export async function directoryCache(o: DirectoryCacheOptions): Promise<DirectoryCache> {
  const entries = new Map<string, Promise<unknown>>();
  const counts = { hits: 0, misses: 0, clears: 0 };
  let known = await o.version();
  const clear = (): void => {
    entries.clear();
    counts.clears += 1;
  };
  const seen = (version: string): void => {
    if (version === known) return;
    known = version;
    clear();
  };
  const read = async (key: string, load: () => Promise<unknown>, freshness: Freshness): Promise<unknown> => {
    if (freshness === 'checked') seen(await o.version());
    const cached = entries.get(key);
    if (cached) {
      counts.hits += 1;
      return cached;
    }
    counts.misses += 1;
    if (entries.size >= MAX_ENTRIES) entries.clear();
    const loading = load();
    entries.set(key, loading);
    loading.catch(() => {
      if (entries.get(key) === loading) entries.delete(key);
    });
    return loading;
  };
  const listening = await o.listen?.(clear);
  const poll = poller(async () => seen(await o.version()), o.pollMs, o.onPollError);
  let stores = 0;
  return {
    over(store, reads) {
      const prefix = `${stores++}:`;
      const wrapped = { ...store } as Record<string, unknown>;
      for (const [name, freshness] of Object.entries(reads) as [string, Freshness][]) {
        const method = (store as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
        if (typeof method !== 'function') throw new Error(`directory cache: the store has no read named ${name}`);
        wrapped[name] = (...args: unknown[]) => read(`${prefix}${name}:${JSON.stringify(args)}`, () => method.apply(store, args), freshness);
      }
      return wrapped as typeof store;
    },
    stats: () => ({ ...counts, entries: entries.size }),
    async stop() {
      poll.stop();
      await listening?.stop();
    },
  };
}

/** Runs `tick` every `ms`, never two at once, without keeping the process alive; a run of failures is reported once. */
function poller(tick: () => Promise<void>, ms: number, onError: (err: unknown) => void): { stop(): void } {
  let running = false;
  let failing = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    tick().then(
      () => {
        running = false;
        failing = false;
      },
      (err: unknown) => {
        running = false;
        if (!failing) onError(err);
        failing = true;
      },
    );
  }, ms);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
