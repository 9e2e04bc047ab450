import type { Logger } from 'pino';
import { type DurabilityEvent, describeDurabilityFailure } from '../store/durability.js';

/**
 * One error line when the store stops being durable, one info line when it is proven again;
 * each failed proof in between is a warning (at most every 15 s, durability.ts).
 */
export function logDurability(log: Logger): (event: DurabilityEvent) => void {
  return (event) => {
    const { failure } = event;
    const facts = { sync: failure.sync, code: failure.code, since: new Date(failure.since).toISOString() };
    if (event.kind === 'lost') log.error({ event: 'store.not-durable', ...facts }, `store not durable: ${describeDurabilityFailure(failure)}`);
    else if (event.kind === 'proof-failed')
      log.warn(
        { event: 'store.proof-failed', ...facts, attempts: failure.proofAttempts, err: event.err },
        'verified checkpoint failed; the store stays not durable',
      );
    else
      log.info(
        { event: 'store.durable', ...facts, notDurableMs: event.at - failure.since, attempts: failure.proofAttempts + 1 },
        'store proven durable again by a verified checkpoint; accepting mail',
      );
  };
}
