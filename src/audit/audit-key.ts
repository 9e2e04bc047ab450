import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.js';
import { type AuditHead, headSignedBy, type SignedHead, signHead } from './audit-head.js';
import type { ChainedContent } from './audit-store.js';

/** The audit key and what it computes: each record's HMAC, the head's signature, the check value the store keeps. */
export class AuditKey {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    this.key = key;
  }

  /** HMAC-SHA256 under the audit key of the previous hash and the record (canonical JSON). */
  mac(prevHash: string, content: ChainedContent): string {
    return createHmac('sha256', this.key)
      .update(`${prevHash}\n${canonicalJson(content)}`)
      .digest('hex');
  }

  matches(prevHash: string, content: ChainedContent, hash: string): boolean {
    const expected = Buffer.from(this.mac(prevHash, content));
    const actual = Buffer.from(hash);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  signHead(head: AuditHead): string {
    return signHead(this.key, head);
  }

  headSigned(head: SignedHead): boolean {
    return headSignedBy(this.key, head);
  }

  /** The value the store keeps of the audit key (never the key): the same key always gives it. */
  check(): string {
    return createHmac('sha256', this.key).update('relaygate: audit key check').digest('hex').slice(0, 32);
  }
}
