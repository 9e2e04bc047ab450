import type { Page, PageRequest } from '../directory/context.js';
import type { DkimVerdict, SandboxDecision } from './mailbox.js';

/** smtp: a delivery that would have left over SMTP; webhook: an inbound payload with no target to take it. */
export type CaptureKind = 'smtp' | 'webhook';

/** A captured message as listed: everything but its bytes. */
export interface CaptureRecord {
  id: string;
  capturedAt: number;
  kind: CaptureKind;
  queueId: string;
  mailFrom: string;
  recipients: string[];
  subject: string | null;
  sizeBytes: number;
  decision: SandboxDecision;
  dkim: DkimVerdict[];
}

export interface SandboxStore {
  /**
   * Whether the captured bytes live in their row: on PostgreSQL, where the instance showing
   * the mailbox may not be the one that captured. Otherwise they are a file of the data directory.
   */
  readonly bytesInRows: boolean;
  /** `raw`: the bytes, when they live in the row; null otherwise. */
  insertCapture(capture: CaptureRecord, raw: Buffer | null): Promise<void>;
  /** Newest first (capture time, then id), with the total. */
  listCaptures(page: PageRequest): Promise<Page<CaptureRecord>>;
  findCapture(id: string): Promise<CaptureRecord | undefined>;
  /** The kind and, when they live in the row, the bytes of a capture. */
  captureBytes(id: string): Promise<{ kind: CaptureKind; raw: Buffer | null } | undefined>;
  captureIds(): Promise<string[]>;
  /** Removes every capture; how many there were. */
  removeCaptures(): Promise<number>;
  /** Whether any outbound connection is configured: `sandbox: auto` captures only without one. */
  anyConnection(): Promise<boolean>;
  /** The id of the domain's newest inbound credential that is not revoked. */
  newestInboundCredential(domain: string): Promise<string | undefined>;
  /** The TXT record of a DKIM key this gateway holds for the selector and domain (lower-cased). */
  dkimPublicRecord(selector: string, domain: string): Promise<string | undefined>;
}
