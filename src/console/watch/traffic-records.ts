// The dashboard's numbers, counted by src/store/traffic-stats.ts.

/** One hour of traffic. Counts are of messages (in, out) or of recipient events (deferred, bounced, delivered). */
export interface TrafficHour {
  /** Epoch ms of the hour's start (UTC hours). */
  start: number;
  /** Inbound messages accepted: from the world, for the application. */
  in: number;
  /** Outbound and secure messages accepted from the applications (gateway-made DSNs not counted). */
  out: number;
  deferred: number;
  bounced: number;
  delivered: number;
  /** Average time from acceptance to delivery of the recipients delivered in this hour; null when none. */
  averageLatencyMs: number | null;
}

export interface QueueDepth {
  /** Recipients waiting for their first or next attempt. */
  queued: number;
  deferred: number;
  /** Inbound recipients parked for an operator after expiry. */
  parked: number;
  /** Acceptance time of the oldest message with a recipient still queued or deferred. */
  oldestReceivedAt: number | null;
}
