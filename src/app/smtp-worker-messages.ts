import type { Config } from '../config/schema.js';
import type { ListenerName } from '../smtp/listeners.js';
import type { CountedValue } from './acceptor-counters.js';
import { EnvironmentError } from './environment-error.js';

/**
 * What the primary and its SMTP acceptor processes (src/app/smtp-workers.ts,
 * src/app/smtp-acceptor.ts) say to each other over the cluster's IPC channel, which carries
 * them by structured clone (serialization 'advanced').
 */
export type ToAcceptor =
  /** The configuration the primary checked and started with; the acceptor builds its parts from it. */
  | { kind: 'start'; config: Config; publicUrl: string; index: number }
  /** Stop accepting, let the sessions finish within graceMs, close the store, exit. */
  | { kind: 'stop'; graceMs: number }
  /** How many sessions are open, for /metrics; answered with the same `id`. */
  | { kind: 'sessions'; id: number };

export type FromAcceptor =
  /** The acceptor's module has loaded and listens for `start` (one sent before would be lost: cluster's 'online' comes earlier). */
  | { kind: 'ready' }
  /** The three listeners are bound (cluster shares one socket per port among the acceptors). */
  | { kind: 'listening'; ports: { smtp: number; smtps: number; relay: number } }
  /** A message was committed: the primary's queue worker should look. */
  | { kind: 'queued' }
  /**
   * A small body just stored, before its commit (and so before its `queued`: the channel keeps
   * the order), for the primary's delivery to send from memory rather than read back, as one
   * process does (src/lib/body-cache.ts); `forget` when its transfer failed.
   */
  | { kind: 'body'; id: string; body: Uint8Array }
  | { kind: 'forget'; id: string }
  | { kind: 'sessions'; id: number; open: Record<ListenerName, number> }
  /** Its counters so far (every second, and once more as it stops): the primary's /metrics shows them. */
  | { kind: 'counted'; values: CountedValue[] }
  /** The start failed: the primary's start fails with the same error. */
  | { kind: 'failed'; error: SentError };

/** An error as the IPC channel can carry it: structured clone keeps an Error's message, not its code or class. */
export interface SentError {
  message: string;
  code?: string;
  /** Set for an EnvironmentError, which the CLI prints as one line with its exit status. */
  environment?: { fix: string; exitCode: number };
}

export function sentError(err: unknown): SentError {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as NodeJS.ErrnoException).code;
  return {
    message: error.message,
    ...(code ? { code } : {}),
    ...(error instanceof EnvironmentError ? { environment: { fix: error.fix, exitCode: error.exitCode } } : {}),
  };
}

export function receivedError(sent: SentError): Error {
  if (sent.environment) {
    const error = new EnvironmentError('', '', sent.environment.fix, sent.environment.exitCode);
    error.message = sent.message;
    return error;
  }
  return Object.assign(new Error(sent.message), sent.code ? { code: sent.code } : {});
}
