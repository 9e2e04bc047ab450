// Durations in config are written the way operators write them in Postfix and systemd
// ("30s", "5m", "5d"); code only ever sees milliseconds.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Zero is zero in every unit, so "0" needs none; any other number without a unit is refused (undefined). */
export function parseDurationMs(text: string): number | undefined {
  if (/^0+(?:\.0+)?$/.test(text.trim())) return 0;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * (UNIT_MS[unit as string] as number));
}

export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** "30" where "30s" or "30m" was meant: a number that only a unit would make a duration. */
export function lacksUnit(text: string): boolean {
  return /^\d+(?:\.\d+)?$/.test(text.trim());
}
