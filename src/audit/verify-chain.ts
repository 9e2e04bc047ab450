import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.js';
import { CHAIN_KEYED, GENESIS_HASH } from '../model/audit-chain.js';
import { readHead, type SignedHead } from './audit-head.js';
import type { AuditKey } from './audit-key.js';
import type { AuditKeying, AuditRecord, ChainedContent } from './audit-store.js';

// The chain's first link and its keyed marker (their reasons are in src/model/audit-chain.ts).
export { CHAIN_KEYED, GENESIS_HASH };

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The newest record an anchored head (outside the database) vouches for; null when no head was found. */
  anchoredSeq: number | null;
  problem?: { seq: number; reason: string };
}

export function verifyChain(chain: AuditKeying, records: readonly AuditRecord[], headFiles: readonly string[]): VerifyResult {
  const unkeyedUpTo = unkeyedStretch(chain.key, records);
  let prevHash = GENESIS_HASH;
  let checked = 0;
  const broken = (seq: number, reason: string): VerifyResult => ({ ok: false, checked, anchoredSeq: null, problem: { seq, reason } });
  for (const record of records) {
    const expectedSeq = checked + 1;
    if (record.seq !== expectedSeq) return broken(expectedSeq, `record ${expectedSeq} is missing (next is ${record.seq})`);
    if (record.prevHash !== prevHash) return broken(record.seq, 'its link to the previous record is broken');
    const content = contentOf(record);
    const fits = record.seq <= unkeyedUpTo ? legacyChainHash(prevHash, content) === record.hash : chain.key.matches(prevHash, content, record.hash);
    if (!fits) return broken(record.seq, 'its content does not match its hash under the audit key (altered, or re-chained without the key)');
    prevHash = record.hash;
    checked += 1;
  }
  const heads = headsOf(chain, headFiles);
  if ('problem' in heads) return { ...broken(heads.problem.seq, heads.problem.reason), checked };
  let anchoredSeq: number | null = null;
  for (const { head, source } of heads.list) {
    const anchored = records[head.seq - 1];
    if (!anchored)
      return broken(
        checked + 1,
        `record ${checked + 1} is missing: the log ends at record ${checked}, but the head anchored in ${source} names record ${head.seq} (the newest records were removed)`,
      );
    if (anchored.hash !== head.hash) return broken(head.seq, `it is not the record the head anchored in ${source} names (replaced)`);
    anchoredSeq = Math.max(anchoredSeq ?? 0, head.seq);
  }
  return { ok: true, checked, anchoredSeq };
}

/** The unkeyed chain of the records written before the audit key existed. */
function legacyChainHash(prevHash: string, content: ChainedContent): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson(content)}`)
    .digest('hex');
}

function contentOf(record: AuditRecord): ChainedContent {
  const { prevHash: _p, hash: _h, ...content } = record;
  return content;
}

function unkeyedStretch(key: AuditKey, records: readonly AuditRecord[]): number {
  const marker = records.find((r) => r.action === CHAIN_KEYED && r.detail.unkeyedUpTo === r.seq - 1 && key.matches(r.prevHash, contentOf(r), r.hash));
  return marker ? marker.seq - 1 : 0;
}

type Heads = { list: Array<{ head: SignedHead; source: string }> } | { problem: { seq: number; reason: string } };

/** This data directory's head and those given; each must be signed with the audit key. */
function headsOf(chain: AuditKeying, headFiles: readonly string[]): Heads {
  const paths = [...(chain.headFile ? [chain.headFile.path] : []), ...headFiles];
  const list: Array<{ head: SignedHead; source: string }> = [];
  for (const path of paths) {
    let head: SignedHead | undefined;
    try {
      head = readHead(path);
    } catch (err) {
      return { problem: { seq: 0, reason: `the head in ${path} cannot be read: ${(err as Error).message}` } };
    }
    if (!head) {
      if (headFiles.includes(path)) return { problem: { seq: 0, reason: `there is no head in ${path}` } };
      continue;
    }
    if (!chain.key.headSigned(head))
      return { problem: { seq: head.seq, reason: `the head in ${path} is not signed with the audit key (forged, or another store's)` } };
    list.push({ head, source: path });
  }
  return { list };
}
