/** A delivery event waiting for the webhook of its sender's domain. */
export interface PendingEvent {
  id: string;
  /** The envelope sender's domain: its inbound target (else its organisation's) receives the event. */
  senderDomain: string;
  /** The event JSON, as signed and sent. */
  payload: string;
  attempts: number;
  nextAttemptAt: number;
  expiresAt: number;
}

/** What a failed call leaves: pending for the next attempt, or failed (kept) once the event expired. */
export interface FailedAttempt {
  attempts: number;
  lastReply: string;
  status: 'pending' | 'failed';
  nextAttemptAt: number;
}

/** The delivery events as the dispatcher sends them (src/store/events/). */
export interface EventStore {
  /** The id of the domain named `name`; undefined when there is none. */
  domainIdOf(name: string): Promise<string | undefined>;
  /** Pending events due at `now`, soonest first, at most `limit`. */
  due(now: number, limit: number): Promise<PendingEvent[]>;
  /**
   * Moves a due event's next attempt to `until`, unless another dispatcher moved it since
   * `event` was read; whether this call did, and so owns the attempt.
   */
  claim(event: Pick<PendingEvent, 'id' | 'nextAttemptAt'>, until: number): Promise<boolean>;
  /** Sent, or nobody is left to send it to. */
  remove(id: string): Promise<void>;
  /** Kept pending, unexpired and uncounted, until `nextAttemptAt`. */
  postpone(id: string, nextAttemptAt: number, lastReply: string): Promise<void>;
  recordFailure(id: string, attempt: FailedAttempt): Promise<void>;
}
