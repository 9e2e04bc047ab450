import type { Readable } from 'node:stream';
import type { TlsRequired } from '../model/envelope.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import type { MessageDirection } from '../model/states.js';

export interface OutboundMessage {
  id: string;
  /** Inbound mail goes to the application's inbound target, outbound mail to the world. */
  direction: MessageDirection;
  mailFrom: string;
  recipients: string[];
  /** When the gateway accepted it (epoch ms). */
  receivedAt: number;
  /**
   * The address whose outbound connection carries the message when that is not the sender's:
   * an inbound message forwarded to the application leaves through its recipient domain's connection.
   */
  routeAs?: string | undefined;
  sizeBytes: number;
  /** What the sender asked of transport security (RFC 8689); every courier must honour `requiretls`. */
  tlsRequired?: TlsRequired | undefined;
  /** Opens the stored message: once per SMTP session of an attempt (direct delivery opens one per recipient domain). */
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
