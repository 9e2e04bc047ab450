import type { Readable } from 'node:stream';
import type { DeliveryOutcome } from '../model/outcome.js';

export interface OutboundMessage {
  id: string;
  mailFrom: string;
  recipients: string[];
  sizeBytes: number;
  /** Opens the stored message; called once per attempt. */
  openBody(): Readable;
}

/**
 * Takes a message to its next hop. Contract: deliver() never throws; it returns one
 * outcome for every recipient it was given (keyed by address), classified by
 * classifyFailure() when anything went wrong.
 */
export interface Courier {
  /** The host named in logs and DSNs (Remote-MTA). */
  readonly remote: string | undefined;
  deliver(message: OutboundMessage): Promise<Map<string, DeliveryOutcome>>;
  close(): Promise<void>;
}
