import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';

/** An administrator account as stored: the hash only, never a password. */
export interface AdminRecord {
  id: string;
  /** Lower-cased; the sign-in name. */
  email: string;
  /** argon2id. */
  passwordHash: string;
  /** While the password is the one-time password `admin create` printed. */
  mustChangePassword: boolean;
  createdAt: number;
  lastSignInAt: number | null;
  lastSignInIp: string | null;
  lockedUntil: number | null;
  disabledAt: number | null;
}

export interface AdminReads {
  /** By the lower-cased sign-in name, exactly. */
  adminByEmail(email: string): Promise<AdminRecord | undefined>;
  adminById(id: string): Promise<AdminRecord | undefined>;
  /** Every account, ordered by email. */
  listAdmins(): Promise<AdminRecord[]>;
}

export interface AdminChanges extends AdminReads {
  insertAdmin(admin: AdminRecord): Promise<void>;
  /** The account-wide lock, shown in `relaygate admin list`. */
  lockAdmin(id: string, until: number): Promise<void>;
  recordSignIn(id: string, at: number, ip: string): Promise<void>;
  /** The administrator's own new password: no longer a one-time one. */
  changePassword(id: string, passwordHash: string): Promise<void>;
  /** A one-time password from another administrator: the account is unlocked and its failure count reset. */
  resetPassword(id: string, passwordHash: string): Promise<void>;
  disableAdmin(id: string, at: number): Promise<void>;
  /** Ends every console session of the account. */
  endSessionsOf(adminId: string): Promise<void>;
  /** Appends to the audit chain in this transaction. */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface AdminStore extends AdminReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: AdminChanges) => Promise<T>): Promise<T>;
}

/** A console session as stored: the cookie value only hashed. */
export interface ConsoleSessionRecord {
  /** SHA-256 of the cookie value, hex. */
  idHash: string;
  adminId: string;
  createdAt: number;
  expiresAt: number;
}

export interface ConsoleSessionStore {
  insertSession(session: ConsoleSessionRecord): Promise<void>;
  sessionByHash(idHash: string): Promise<ConsoleSessionRecord | undefined>;
  /** Moves the idle expiry of the session. */
  extendSession(idHash: string, expiresAt: number): Promise<void>;
  removeSession(idHash: string): Promise<void>;
}
