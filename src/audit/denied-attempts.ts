import type { Clock } from '../lib/clock.js';
import type { AuditStore } from './audit-store.js';

/** A refused request, as the audit log keeps it: who (a user name, a token id, or "anonymous"), from where, and why; never a secret. */
export interface DeniedAttempt {
  /** e.g. api.unauthorized, admin.sign-in-failed, form.refused */
  action: string;
  actor: string;
  ip: string | null;
  reason: string;
  targetType?: string;
  targetId?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * An unauthenticated flood must not grow the audit log without bound: the first of identical
 * denials (same action, address, actor, reason, target, detail) in a minute is written, the
 * repeats are counted and the count rides on the next record of the kind (`repeated`). On
 * top, at most PER_IP_PER_MINUTE records per address and PER_MINUTE in all per instance: at
 * worst 120 records a minute (about 170,000 a day) from a flood of any size. Those left out
 * are counted in `suppressed` on the next record written.
 */
export const PER_IP_PER_MINUTE = 10;
export const PER_MINUTE = 120;
const MINUTE_MS = 60_000;
/** Bounds the memory of the repeat counts under a flood of distinct keys. */
const MAX_KEYS = 10_000;

export type DeniedAttempts = ReturnType<typeof deniedAttempts>;

export function deniedAttempts(ctx: { store: Pick<AuditStore, 'append'>; clock: Clock }, onError: (err: unknown) => void = () => undefined) {
  const repeats = new Map<string, { minute: number; count: number }>();
  let minute = -1;
  let perIp = new Map<string, number>();
  let written = 0;
  let suppressed = 0;

  function admit(key: string, ip: string, now: number): { repeated: number; suppressed: number } | undefined {
    const current = Math.floor(now / MINUTE_MS);
    if (current !== minute) {
      minute = current;
      perIp = new Map();
      written = 0;
    }
    const last = repeats.get(key);
    if (last?.minute === current) {
      last.count += 1;
      return undefined;
    }
    if (written >= PER_MINUTE || (perIp.get(ip) ?? 0) >= PER_IP_PER_MINUTE) {
      suppressed += 1;
      return undefined;
    }
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    written += 1;
    if (repeats.size >= MAX_KEYS && !last) repeats.delete(repeats.keys().next().value as string);
    repeats.set(key, { minute: current, count: 0 });
    const counts = { repeated: last?.count ?? 0, suppressed };
    suppressed = 0;
    return counts;
  }

  return {
    /** Writes the record unless coalesced; never throws into the request that was refused, and does not hold it up. */
    record(attempt: DeniedAttempt): void {
      const now = ctx.clock.now();
      const key = [attempt.action, attempt.ip, attempt.actor, attempt.reason, attempt.targetId ?? '', JSON.stringify(attempt.detail ?? {})].join('\0');
      const counts = admit(key, attempt.ip ?? '-', now);
      if (!counts) return;
      const detail = {
        reason: attempt.reason,
        ...attempt.detail,
        ...(counts.repeated > 0 ? { repeated: counts.repeated } : {}),
        ...(counts.suppressed > 0 ? { suppressed: counts.suppressed } : {}),
      };
      ctx.store
        .append(
          { name: attempt.actor, ip: attempt.ip },
          { action: attempt.action, targetType: attempt.targetType ?? 'access', targetId: attempt.targetId ?? null, detail },
          now,
        )
        .catch(onError);
    },
  };
}
