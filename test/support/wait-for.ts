/**
 * Polls a condition until it holds. Tests use this instead of fixed sleeps so
 * they are fast on an idle machine and still pass on a slow, busy one.
 */

export interface WaitForOptions {
  /** Generous by default: CI machines can be many times slower than a laptop. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error so a failing test says what it was waiting for. */
  what?: string;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_INTERVAL_MS = 25;

const TIMED_OUT = Symbol('timed out');

export async function waitFor<T>(check: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const what = opts.what ?? 'condition';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let hasError = false;

  for (;;) {
    const remaining = deadline - Date.now();
    try {
      // A check that never settles must not hang the test past its deadline.
      const value = await raceDeadline(Promise.resolve().then(check), Math.max(remaining, 0));
      if (value !== TIMED_OUT && value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
      hasError = true;
    }
    if (Date.now() >= deadline) {
      let message = `timed out after ${timeoutMs}ms waiting for ${what}`;
      if (hasError) message += `; last error: ${describe(lastError)}`;
      throw new Error(message, hasError ? { cause: lastError } : undefined);
    }
    await sleep(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function raceDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
