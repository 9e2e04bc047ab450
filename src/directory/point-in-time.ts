import { parseDurationMs } from '../lib/durations.js';

// RFC 3339 §5.6 date-time with a mandatory offset: a time without one would mean the
// local time of whichever machine parsed it, and CLI and API may run on different ones.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A moment given as an RFC 3339 time (`2027-01-01T00:00:00Z`) or as a duration from now
 * (`90d`, `12h`), the way expiry and retirement are written on the command line.
 * Undefined when it is neither.
 */
export function parsePointInTime(text: string, nowMs: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'now') return nowMs;
  const duration = parseDurationMs(trimmed);
  if (duration !== undefined) return nowMs + duration;
  if (!RFC3339.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

export const POINT_IN_TIME_HELP = 'an RFC 3339 time with its offset (2027-01-01T00:00:00Z) or a duration from now (90d, 12h, 30m)';
