/** The data key of one body sealed at rest (a reply to secure mail, a sandbox copy of one), sealed by the key-encryption key. */
export interface SealedBodyRecord {
  /** The queue id (or capture id) of the body. */
  messageId: string;
  /** The secure message it answers: shredding that message deletes this key. */
  secureMessageId: string | null;
  dataKeySealed: string;
  bodyIv: string;
  bodyTag: string;
  createdAt: number;
}

/** The keys of sealed bodies (src/secure/sealing-spool.ts, sealed-captures.ts), and what shredding a secure message does to its answers. */
export interface SealedBodyStore {
  find(messageId: string): Promise<SealedBodyRecord | undefined>;
  /** True when the body has a key: it is stored sealed. */
  has(messageId: string): Promise<boolean>;
  /** The secure message the sealed body `messageId` answers: null when it answers none; undefined when the body is not sealed. */
  answers(messageId: string): Promise<string | null | undefined>;
  insert(record: SealedBodyRecord): Promise<void>;
  /** Deletes the keys of these bodies: once gone, no copy of their ciphertext opens again. */
  remove(messageIds: string[]): Promise<void>;
  /** The bodies sealed as answers to the secure message. */
  answersOf(secureMessageId: string): Promise<string[]>;
  /** Deletes the keys of every body that answers the secure message. */
  removeAnswersOf(secureMessageId: string): Promise<void>;
  /** Marks the queue messages' bodies purged (those not marked yet), as for a body past its retention. */
  markPurged(messageIds: string[], at: number): Promise<void>;
}
