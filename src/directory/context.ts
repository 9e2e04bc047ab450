import type { Clock } from '../lib/clock.js';

/** Who made a change, for the audit log: `token:tok_… (description)`, `cli:root`, `console:…`. */
export interface Actor {
  name: string;
  ip: string | null;
}

/** What every directory service is built from; the outside world (clock) is a parameter. */
export interface DirectoryContext {
  clock: Clock;
  /** Key of the keyed hashes of secrets (credentials, API tokens). */
  hashKey: Buffer;
  /** Durability barrier for changes that must survive a power cut (revocations, tokens). */
  syncCommitted(): Promise<void>;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PageRequest {
  limit: number;
  offset: number;
}
