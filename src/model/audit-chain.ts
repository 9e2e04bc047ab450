/** The previous hash of the first record of the audit chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Records written before the audit key existed were chained with plain SHA-256. Rather than
 * rewrite history, the first start with the key appends this record, keyed, naming the last
 * unkeyed record: its HMAC covers that record's hash, which covers every one before it, so
 * the old records are as protected as the new ones from then on. Only a keyed record of this
 * action can say so, and so only the key holder can mark a stretch as unkeyed.
 */
export const CHAIN_KEYED = 'audit.chain-keyed';
