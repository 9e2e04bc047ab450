/**
 * Messages per credential over the last hour, in one-minute buckets: 60 counters per
 * credential whatever its limit, exact to within the current minute. A transaction counts
 * when its MAIL FROM is admitted, so parallel sessions of one credential cannot overshoot
 * the limit together; a transaction refused later still counts, erring on the side of the
 * limit.
 */
export interface HourlyMessageRate {
  /** Counts one message for `key` if fewer than `perHour` were counted in the last hour. */
  tryAdmit(key: string, perHour: number): Promise<boolean>;
}
