import { sql } from 'kysely';
import type { QueueDepth, TrafficHour } from '../console/watch/traffic-records.js';
import type { Db } from './tables.js';

export type { QueueDepth, TrafficHour };

export const HOUR_MS = 3_600_000;

/**
 * The dashboard's numbers. Hours are bucketed in SQL with the window's start as a literal
 * (a number, never user input), so the GROUP BY expression is textually the one selected:
 * PostgreSQL rejects a grouped expression whose parameters are numbered apart.
 */
export function trafficStats(db: Db) {
  return {
    /** The 24 whole UTC hours up to and including the current one, oldest first. */
    async lastDay(now: number): Promise<TrafficHour[]> {
      const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
      const start = end - 24 * HOUR_MS;
      const hours: TrafficHour[] = Array.from({ length: 24 }, (_, i) => ({
        start: start + i * HOUR_MS,
        in: 0,
        out: 0,
        deferred: 0,
        bounced: 0,
        delivered: 0,
        averageLatencyMs: null,
      }));
      const at = (bucket: unknown) => hours[Number(bucket)];
      const messageHour = sql<number>`(${sql.ref('received_at')} - ${sql.lit(start)}) / ${sql.lit(HOUR_MS)}`;
      const accepted = await db
        .selectFrom('messages')
        .select([messageHour.as('bucket'), 'direction', (eb) => eb.fn.countAll<number>().as('n')])
        .where('received_at', '>=', start)
        .where('received_at', '<', end)
        .where('is_dsn', '=', 0)
        .groupBy([messageHour, 'direction'])
        .execute();
      for (const row of accepted) {
        const hour = at(row.bucket);
        if (!hour) continue;
        if (row.direction === 'inbound') hour.in += Number(row.n);
        else hour.out += Number(row.n);
      }
      const eventHour = sql<number>`(${sql.ref('events.at')} - ${sql.lit(start)}) / ${sql.lit(HOUR_MS)}`;
      const outcomes = await db
        .selectFrom('events')
        .innerJoin('messages', 'messages.id', 'events.message_id')
        .select([
          eventHour.as('bucket'),
          'events.kind',
          (eb) => eb.fn.countAll<number>().as('n'),
          (eb) => eb.fn.avg<number>(sql`${sql.ref('events.at')} - ${sql.ref('messages.received_at')}`).as('latency'),
        ])
        .where('events.at', '>=', start)
        .where('events.at', '<', end)
        .where('events.kind', 'in', ['deferred', 'bounced', 'delivered'])
        .groupBy([eventHour, 'events.kind'])
        .execute();
      for (const row of outcomes) {
        const hour = at(row.bucket);
        if (!hour) continue;
        const n = Number(row.n);
        if (row.kind === 'deferred') hour.deferred += n;
        else if (row.kind === 'bounced') hour.bounced += n;
        else {
          hour.delivered += n;
          hour.averageLatencyMs = row.latency === null ? null : Math.round(Number(row.latency));
        }
      }
      return hours;
    },

    async queueDepth(): Promise<QueueDepth> {
      const counts = await db
        .selectFrom('recipients')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['queued', 'deferred', 'failed'])
        .groupBy('status')
        .execute();
      const count = (status: string) => Number(counts.find((c) => c.status === status)?.n ?? 0);
      const oldest = await db
        .selectFrom('messages')
        .select((eb) => eb.fn.min('received_at').as('oldest'))
        .where('id', 'in', (eb) => eb.selectFrom('recipients').select('message_id').where('status', 'in', ['queued', 'deferred']))
        .executeTakeFirst();
      return {
        queued: count('queued'),
        deferred: count('deferred'),
        parked: count('failed'),
        oldestReceivedAt: oldest?.oldest === null || oldest?.oldest === undefined ? null : Number(oldest.oldest),
      };
    },
  };
}
