import type { DestinationStream } from 'pino';

export interface PrettyOptions {
  /** ANSI colours for the level (a terminal); plain text otherwise. */
  colour: boolean;
}

const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 36 },
  30: { name: 'INFO', colour: 32 },
  40: { name: 'WARN', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

/** Fields every line carries, or shown in the line's head: not repeated as key=value. */
const HEAD_FIELDS = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'service', 'err']);

/**
 * One pino JSON line as a line for a person: `12:34:56.789 INFO  message accepted queueId=… ip=…`,
 * time of day in UTC, then the fields in the order they were logged, and an error's stack
 * indented below. A line that is not JSON passes through as it is.
 */
export function formatLogLine(json: string, options: PrettyOptions = { colour: false }): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '--:--:--.---';
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level ?? '?').toUpperCase(), colour: 0 };
  const levelText = level.name.padEnd(5);
  const head = `${time} ${options.colour ? `\x1b[${level.colour}m${levelText}\x1b[0m` : levelText} ${String(entry.msg ?? '')}`;
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HEAD_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  const err = errorText(entry.err);
  return `${[head, ...fields].join(' ')}\n${err}`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** pino's err serializer gives type, message and stack: the stack already starts with the message. */
function errorText(err: unknown): string {
  if (err === undefined || err === null) return '';
  if (typeof err !== 'object') return `    err=${fieldText(err)}\n`;
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  const text = typeof stack === 'string' ? stack : String(message ?? JSON.stringify(err));
  return `${text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;
}

/** A pino destination that writes each JSON line formatted to `out`. */
export function prettyDestination(out: { write(text: string): unknown }, options: PrettyOptions): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(formatLogLine(line, options));
    },
  };
}
