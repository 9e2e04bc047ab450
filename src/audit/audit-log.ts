import type { AuditQuery, AuditStore } from './audit-store.js';
import { type VerifyResult, verifyChain } from './verify-chain.js';

export type { AuditEntry, AuditQuery, AuditRecord } from './audit-store.js';

export function auditLog(store: AuditStore) {
  return {
    list: (query: AuditQuery) => store.list(query),

    /**
     * Recomputes the chain with the audit key from the first record, then checks that it
     * reaches the anchored head of this data directory and every head in `headFiles` (those
     * of other instances); names the first record that does not fit.
     */
    async verify(options: { headFiles?: readonly string[] } = {}): Promise<VerifyResult> {
      return verifyChain(store.keying(), await store.records(), options.headFiles ?? []);
    },

    /** Every record, oldest first, one JSON object per line (JSON Lines). */
    async *exportLines(): AsyncGenerator<string> {
      let after = 0;
      for (;;) {
        const records = await store.records({ afterSeq: after, limit: 500 });
        if (records.length === 0) return;
        for (const record of records) yield `${JSON.stringify(record)}\n`;
        after = records[records.length - 1]?.seq ?? after;
      }
    },
  };
}
