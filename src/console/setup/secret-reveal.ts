import type { Clock } from '../../lib/clock.js';

/** Long enough to follow the redirect on a slow link; short enough that an unread secret does not linger. */
const REVEAL_TTL_MS = 10 * 60_000;

/**
 * A new credential's secret, held in memory from its creation until the page after the
 * redirect shows it once, to the session that created it. Showing it on the page the
 * redirect leads to (rather than in the answer to the POST) means a reload or Back never
 * creates a second credential and never shows the secret again.
 */
export class SecretReveal {
  readonly #pending = new Map<string, { sessionId: string; secret: string; expiresAt: number }>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  hold(credentialId: string, sessionId: string, secret: string): void {
    const now = this.#clock.now();
    for (const [id, held] of this.#pending) if (held.expiresAt <= now) this.#pending.delete(id);
    this.#pending.set(credentialId, { sessionId, secret, expiresAt: now + REVEAL_TTL_MS });
  }

  /** The secret, once, to the session that created it; undefined ever after. */
  take(credentialId: string, sessionId: string): string | undefined {
    const held = this.#pending.get(credentialId);
    if (!held || held.sessionId !== sessionId) return undefined;
    this.#pending.delete(credentialId);
    return held.expiresAt > this.#clock.now() ? held.secret : undefined;
  }
}
