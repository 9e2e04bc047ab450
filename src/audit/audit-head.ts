import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The newest record of the log as one instance last saw it committed. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface SignedHead extends AuditHead {
  mac: string;
}

/** Where an instance keeps its head: outside the database, in its own data directory. */
export const HEAD_FILE = 'audit-head.json';

export function signHead(key: Buffer, head: AuditHead): string {
  return createHmac('sha256', key).update(`relaygate audit head\n${head.seq}\n${head.hash}`).digest('hex');
}

export function headSignedBy(key: Buffer, head: SignedHead): boolean {
  const expected = Buffer.from(signHead(key, head));
  const actual = Buffer.from(head.mac);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The head in `path`; undefined when there is none; throws when it is not a head. */
export function readHead(path: string): SignedHead | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<SignedHead>;
  if (!Number.isSafeInteger(parsed.seq) || typeof parsed.hash !== 'string' || typeof parsed.mac !== 'string')
    throw new Error(`${path} is not an audit head (expected {"seq","hash","mac"})`);
  return parsed as SignedHead;
}

export type HeadFile = ReturnType<typeof headFile>;

/**
 * One file holding the highest record this data directory's processes (the gateway and the
 * CLI beside it) have appended. It only moves forward, and is replaced whole by a rename, so
 * a reader never sees half a head.
 */
export function headFile(path: string) {
  return {
    path,
    read: () => readHead(path),
    /** Writes `head` unless the file already names a later record; whether it wrote. */
    advance(head: AuditHead, mac: string): boolean {
      let current: SignedHead | undefined;
      try {
        current = readHead(path);
      } catch {
        current = undefined;
      }
      if (current && current.seq >= head.seq) return false;
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify({ seq: head.seq, hash: head.hash, mac })}\n`, { mode: 0o600 });
      renameSync(temporary, path);
      return true;
    },
  };
}
