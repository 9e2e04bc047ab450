// Sizes in config are written the way operators read them in df ("500MB", "2GiB"); code only
// ever sees bytes. KB, MB, GB, TB, PB are powers of 1000 (as df -H and disk vendors count),
// KiB … PiB powers of 1024; a bare number is bytes.
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

export function parseSizeBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]i?b|b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit = 'b'] = match;
  const bytes = Math.round(Number(amount) * (UNIT_BYTES[unit.toLowerCase()] as number));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** "40 MB", "1.5 GB", "512 B": decimal units, one decimal at most, for messages to operators. */
export function formatSizeBytes(bytes: number): string {
  for (const unit of ['PB', 'TB', 'GB', 'MB', 'kB'] as const) {
    const size = UNIT_BYTES[unit.toLowerCase()] as number;
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} B`;
}
