import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../lib/clock.js';
import type { SharedCounters } from '../smtp/auth-counters.js';
import { engineOf } from './engine.js';
import type { Database, Db } from './tables.js';

/**
 * Counters in time buckets (table rate_counters), kept in the store so that every instance
 * sharing it counts together: a limit then holds for the whole cluster, not once per process.
 * A bucket is the epoch millisecond at which it starts, whatever its length, so one index on
 * `bucket` serves the pruning of every scope.
 */

/** Adds `by` to one bucket in a single upsert (SQLite 3.35+ and PostgreSQL alike); the bucket's new count. */
export async function addToCounter(db: Kysely<Database>, scope: string, key: string, bucket: number, by = 1): Promise<number> {
  const row = await db
    .insertInto('rate_counters')
    .values({ scope, key: storedKey(key), bucket, count: by })
    .onConflict((oc) => oc.columns(['scope', 'key', 'bucket']).doUpdateSet({ count: sql<number>`rate_counters.count + excluded.count` }))
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The count of `key` over the buckets from `fromBucket` on. */
export async function sumCounter(db: Kysely<Database>, scope: string, key: string, fromBucket: number): Promise<number> {
  const row = await db
    .selectFrom('rate_counters')
    .select((eb) => eb.fn.sum<number | null>('count').as('total'))
    .where('scope', '=', scope)
    .where('key', '=', storedKey(key))
    .where('bucket', '>=', fromBucket)
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}

/** Deletes a scope's buckets older than `beforeBucket`. */
export async function pruneCounters(db: Kysely<Database>, scope: string, beforeBucket: number): Promise<void> {
  await db.deleteFrom('rate_counters').where('scope', '=', scope).where('bucket', '<', beforeBucket).execute();
}

/**
 * Keys come from clients (an AUTH user name can be any length); a long one is stored as its
 * hash so that it always fits an index entry. Distinct keys stay distinct.
 */
function storedKey(key: string): string {
  return key.length <= 200 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

const PRUNE_INTERVAL_MS = 60_000;

/**
 * A window of `buckets` buckets of `bucketMs` each, per key, in one scope: the count of the
 * current bucket and the ones before it, so the window slides a bucket at a time. Buckets
 * that have left the window are deleted from the add path, at most once a minute per
 * process; several instances doing so is harmless.
 */
export class SharedWindow {
  private readonly db: Db;
  private readonly scope: string;
  private readonly bucketMs: number;
  private readonly buckets: number;
  private readonly clock: Clock;
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(db: Db, options: { scope: string; bucketMs: number; buckets: number }, clock: Clock) {
    this.db = db;
    this.scope = options.scope;
    this.bucketMs = Math.max(1, Math.ceil(options.bucketMs));
    this.buckets = Math.max(1, Math.floor(options.buckets));
    this.clock = clock;
  }

  /** Counts `by` for `key` now. */
  async add(key: string, by = 1): Promise<void> {
    const now = this.clock.now();
    await addToCounter(this.db, this.scope, key, this.bucketAt(now), by);
    this.pruneNow(now);
  }

  /** The count of `key` in the window ending now. */
  count(key: string): Promise<number> {
    return sumCounter(this.db, this.scope, key, this.windowStart(this.clock.now()));
  }

  /**
   * Counts one for `key` only if the window holds fewer than `limit`, atomically: instances
   * asking at once never both take the last place. On PostgreSQL a transaction-scoped
   * advisory lock per scope and key serializes the check and the add (a row lock would not
   * cover two instances in different buckets, either side of a bucket boundary); on SQLite
   * the one connection already runs one transaction at a time.
   */
  async addWithin(key: string, limit: number): Promise<boolean> {
    const now = this.clock.now();
    const admitted = await this.db.transaction().execute(async (trx) => {
      if (engineOf(this.db) === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${this.scope}), hashtext(${storedKey(key)}))`.execute(trx);
      if ((await sumCounter(trx, this.scope, key, this.windowStart(now))) >= limit) return false;
      await addToCounter(trx, this.scope, key, this.bucketAt(now), 1);
      return true;
    });
    if (admitted) this.pruneNow(now);
    return admitted;
  }

  /**
   * How long until `key` counts fewer than `limit` again, if nothing more is added: the
   * oldest buckets leave the window one by one (a bucket starting at b leaves at b + window).
   */
  async msUntilBelow(key: string, limit: number): Promise<number> {
    const now = this.clock.now();
    const rows = await this.db
      .selectFrom('rate_counters')
      .select(['bucket', 'count'])
      .where('scope', '=', this.scope)
      .where('key', '=', storedKey(key))
      .where('bucket', '>=', this.windowStart(now))
      .orderBy('bucket')
      .execute();
    let total = rows.reduce((sum, r) => sum + Number(r.count), 0);
    for (const row of rows) {
      if (total < limit) break;
      total -= Number(row.count);
      if (total < limit) return Math.max(0, Number(row.bucket) + this.buckets * this.bucketMs - now);
    }
    return 0;
  }

  private bucketAt(now: number): number {
    return Math.floor(now / this.bucketMs) * this.bucketMs;
  }

  private windowStart(now: number): number {
    return this.bucketAt(now) - (this.buckets - 1) * this.bucketMs;
  }

  private pruneNow(now: number): void {
    if (now - this.prunedAt < PRUNE_INTERVAL_MS) return;
    this.prunedAt = now;
    // Not awaited, and a failure only leaves old rows for the next attempt a minute later:
    // rows outside the window are never counted, so they cost space, not correctness.
    pruneCounters(this.db, this.scope, this.windowStart(now)).catch(() => undefined);
  }
}

/** The counters of this store: in rows on both engines, `shared` on PostgreSQL, where several instances count together. */
export function sharedCounters(db: Db): SharedCounters {
  return { shared: engineOf(db) === 'postgres', window: (shape, clock) => new SharedWindow(db, shape, clock) };
}
