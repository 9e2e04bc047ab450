/** The hour of a message rate, in one-minute buckets. */
export const MINUTE_MS = 60_000;
export const MINUTES_PER_HOUR = 60;
