import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';

/** The organisation's secure-message settings and branding as stored (src/secure/secure-settings.ts checks and shows them). */
export interface SecureSettingsRecord {
  retentionDays: number;
  readReceipts: boolean;
  readReceiptFormat: string;
  neutralSubject: boolean;
  locale: string;
  timeZone: string;
  brandName: string | null;
  brandColour: string | null;
  /** The logo's bytes and its type (png or svg), both null when there is none. */
  brandLogo: Buffer | null;
  brandLogoType: string | null;
}

/** What an update sets: only the fields given change. */
export type SecureSettingsValues = Partial<Omit<SecureSettingsRecord, 'brandLogo' | 'brandLogoType'>> & {
  brandLogo?: { content: Buffer; type: string } | null;
};

export interface SecureSettingsReads {
  /** Undefined when there is no such organisation. */
  settings(organisationId: string): Promise<SecureSettingsRecord | undefined>;
}

export interface SecureSettingsChanges {
  update(organisationId: string, values: SecureSettingsValues): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface SecureSettingsStore extends SecureSettingsReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: SecureSettingsChanges) => Promise<T>): Promise<T>;
}
