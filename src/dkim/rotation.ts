import type { DkimKeyState } from '../model/states.js';
import type { DkimKeyRecord, DkimKeyUpdate } from './dkim-key-store.js';
import type { KeyCheck } from './record-check.js';

/**
 * How long a replaced key stays published after its successor signs. Signatures are made
 * at delivery, so after the switch old signatures exist only on mail already handed to the
 * next hop, which may hold it for up to five days (Postfix's maximal_queue_lifetime) before
 * the recipient's server verifies it; a week covers that.
 */
export const DEFAULT_GRACE_MS = 7 * 24 * 60 * 60 * 1000;

export interface Transition {
  id: string;
  selector: string;
  from: DkimKeyState;
  to: DkimKeyState;
  changes: DkimKeyUpdate;
}

/**
 * The state changes a DNS check allows, per algorithm (an RSA key replaces an RSA key):
 * - pending, and DNS publishes exactly our key → active: it signs from now on;
 * - active, when a newer key of its algorithm became active → retiring, until the grace
 *   period its successor was created with (by rotate) has passed; it no longer signs;
 * - retiring, once that time has come → retired: its record may be removed.
 * A key DNS does not show, or shows differently, or a resolver failure, changes nothing.
 */
export function transitionsAfterCheck(rows: DkimKeyRecord[], checks: Map<string, KeyCheck>, now: number): Transition[] {
  const transitions: Transition[] = [];
  const successors = new Map<string, DkimKeyRecord>();
  for (const row of rows) {
    if (row.state !== 'pending' || checks.get(row.id)?.outcome !== 'published') continue;
    transitions.push(move(row, 'active', { publishedSeenAt: row.publishedSeenAt ?? now, activatedAt: now }));
    successors.set(row.algorithm, row);
  }
  for (const row of rows) {
    const successor = successors.get(row.algorithm);
    if (row.state === 'active' && successor) {
      const retireAt = now + (successor.graceMs ?? DEFAULT_GRACE_MS);
      transitions.push(retireAt <= now ? move(row, 'retired', { retireAt, retiredAt: now }) : move(row, 'retiring', { retireAt }));
    } else if (row.state === 'retiring' && row.retireAt !== null && row.retireAt <= now) {
      transitions.push(move(row, 'retired', { retiredAt: now }));
    }
  }
  return transitions;
}

function move(row: DkimKeyRecord, to: DkimKeyState, changes: DkimKeyUpdate): Transition {
  return { id: row.id, selector: row.selector, from: row.state, to, changes: { ...changes, state: to } };
}

/**
 * Selectors name the month a pair was made and its place in that month: `rg202611a-rsa`
 * and `rg202611a-ed`, then `rg202611b-…` for a second rotation. Dated names tell an operator
 * at a glance which record in their zone is old; the suffix says the key type.
 */
export function nextSelectorStem(taken: Set<string>, now: number): string | undefined {
  const date = new Date(now);
  const month = `rg${date.getUTCFullYear()}${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
  for (let code = 'a'.charCodeAt(0); code <= 'z'.charCodeAt(0); code++) {
    const stem = `${month}${String.fromCharCode(code)}`;
    if (!taken.has(`${stem}-rsa`) && !taken.has(`${stem}-ed`)) return stem;
  }
  return undefined;
}

export const SELECTOR_SUFFIX = { 'rsa-sha256': 'rsa', 'ed25519-sha256': 'ed' } as const;
