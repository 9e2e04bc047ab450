/** A portal session as stored: the cookie value itself never is, only its hash. */
export interface PortalSessionRecord {
  /** SHA-256 of the cookie value, hex. */
  idHash: string;
  recipientId: string;
  createdAt: number;
  expiresAt: number;
}

/** A link's one-time code, as the code checks read it from the recipient. */
export interface CodeHolder {
  /** The recipient's id. */
  id: string;
  otpHash: string | null;
  otpExpiresAt: number | null;
  otpAttempts: number;
  otpSentAt: number | null;
}

/** The code and what a lock looks at: wrong codes over the link's lifetime and the lock itself. */
export interface CodeLink extends CodeHolder {
  otpFailures: number;
  lockedAt: number | null;
}

/** What the attempt a guess took leaves: the code's attempts and the link's lifetime wrong codes, this guess counted. */
export interface TakenAttempt {
  attempts: number;
  wrongCodes: number;
}

/** The recipients' portal sessions and one-time codes. */
export interface PortalSessionStore {
  insertSession(session: PortalSessionRecord): Promise<void>;
  findSession(idHash: string): Promise<PortalSessionRecord | undefined>;
  /** Moves the session's idle end. */
  extendSession(idHash: string, expiresAt: number): Promise<void>;
  removeSession(idHash: string): Promise<void>;
  /**
   * Replaces the recipient's code with a fresh attempt count, only if its last code was sent
   * at `sentBefore` (null: none was): of two requests racing, one wins. True when this one did.
   */
  replaceCode(recipientId: string, code: { hash: string; expiresAt: number; sentAt: number }, sentBefore: number | null): Promise<boolean>;
  /**
   * Takes one attempt of the code whose hash is `otpHash` and one of the link's wrong codes,
   * in one conditional statement: only while that code is still there, has attempts below
   * `maxAttempts`, the link fewer than `maxWrongCodes` wrong codes and no lock. Undefined when
   * nothing was taken.
   */
  takeAttempt(recipientId: string, otpHash: string | null, limits: { maxAttempts: number; maxWrongCodes: number }): Promise<TakenAttempt | undefined>;
  /** Clears the code whose hash is `otpHash` and gives the attempt's wrong code back; true when it was still there. */
  useCode(recipientId: string, otpHash: string | null): Promise<boolean>;
  /** The recipient's code and lock as they are now; throws when the recipient is gone. */
  codeLink(recipientId: string): Promise<CodeLink>;
}
