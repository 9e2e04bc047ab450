import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

/**
 * Checks that the WAL holds, frame by frame, what SQLite wrote: the check its recovery makes
 * at open, made here because a checkpoint does not make it. It copies frames as it reads them.
 * After a failed writeback a frame is read from the page cache, where Linux keeps what failed
 * to write, unless the page was evicted since or the filesystem dropped it (btrfs clears it
 * on a write error): then the read comes from the disk, stale, and a checkpoint would copy
 * that into the database file and empty the WAL, making the damage permanent.
 *
 * Formats: https://sqlite.org/fileformat2.html#walformat (WAL) and
 * https://sqlite.org/walformat.html (wal-index header, in the -shm file, native byte order).
 * Every frame up to the wal-index's mxFrame must carry the WAL header's salts and continue
 * the checksum chain, and the chain must end at the checksum the wal-index keeps for mxFrame.
 */
export function checkWalFrames(walPath: string, shmPath: string): void {
  const index = readWalIndexHeader(shmPath);
  if (index === undefined || index.mxFrame === 0) return;
  try {
    checkFrames(walPath, index);
  } catch (err) {
    // Another process wrote meanwhile (a CLI commit that restarted the WAL): not damage, a proof to try again.
    const now = readWalIndexHeader(shmPath);
    if (err instanceof WalDamaged && !now?.raw.equals(index.raw)) throw new Error('the WAL changed while it was checked; checking again later');
    throw err;
  }
}

function checkFrames(walPath: string, index: WalIndexHeader): void {
  const fd = openSync(walPath, 'r');
  try {
    const header = readExactly(fd, 32, 0, 'the WAL header');
    const magic = header.readUInt32BE(0);
    if (magic !== 0x377f0682 && magic !== 0x377f0683) throw new WalDamaged('the WAL header has no WAL magic number');
    const word = magic === 0x377f0683 ? (b: Buffer, o: number) => b.readUInt32BE(o) : (b: Buffer, o: number) => b.readUInt32LE(o);
    let sum = checksum(word, header.subarray(0, 24), [0, 0]);
    if (sum[0] !== header.readUInt32BE(24) || sum[1] !== header.readUInt32BE(28)) throw new WalDamaged('the WAL header fails its checksum');
    const salts = header.subarray(16, 24);
    if (!salts.equals(index.salts)) throw new WalDamaged('the WAL header is not the one the wal-index describes');
    const pageSize = header.readUInt32BE(8);
    for (let frame = 1; frame <= index.mxFrame; frame++) {
      const at = 32 + (frame - 1) * (24 + pageSize);
      const bytes = readExactly(fd, 24 + pageSize, at, `WAL frame ${frame}`);
      const damaged = () => new WalDamaged(`WAL frame ${frame} of ${index.mxFrame} is not what SQLite wrote`);
      if (!bytes.subarray(8, 16).equals(salts)) throw damaged();
      sum = checksum(word, bytes.subarray(24), checksum(word, bytes.subarray(0, 8), sum));
      if (sum[0] !== bytes.readUInt32BE(16) || sum[1] !== bytes.readUInt32BE(20)) throw damaged();
    }
    if (sum[0] !== index.frameChecksum[0] || sum[1] !== index.frameChecksum[1])
      throw new WalDamaged(`WAL frame ${index.mxFrame} is not the last frame SQLite wrote`);
  } finally {
    closeSync(fd);
  }
}

export const WAL_DAMAGED = 'ERELAYGATE_WAL_DAMAGED';

/**
 * The WAL does not hold what SQLite wrote: only SQLite's recovery, when the store is next
 * opened with no connection left from this run, can set it right (it keeps the WAL up to its
 * last intact frame). Closing the last connection would not: that checkpoints the WAL as it is.
 */
export class WalDamaged extends Error {
  readonly code = WAL_DAMAGED;
  constructor(what: string) {
    super(`${what} (a write that failed left it stale); only SQLite's recovery at the next start can set the store right`);
    this.name = 'WalDamaged';
  }
}

interface WalIndexHeader {
  /** Both copies of the header as read, to tell a change by another process from damage. */
  raw: Buffer;
  mxFrame: number;
  frameChecksum: [number, number];
  /** As stored in the WAL header: 8 bytes, big-endian. */
  salts: Buffer;
}

/** The wal-index header, or undefined when there is none (no -shm file yet). Its two copies differ while a writer updates it. */
function readWalIndexHeader(shmPath: string): WalIndexHeader | undefined {
  let fd: number;
  try {
    fd = openSync(shmPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const bytes = readExactly(fd, 96, 0, 'the wal-index header', () => new Error('the wal-index header is cut short; try again'));
    if (!bytes.subarray(0, 48).equals(bytes.subarray(48, 96))) throw new Error('the wal-index header is being written; try again');
    const u32 = endianness() === 'LE' ? (o: number) => bytes.readUInt32LE(o) : (o: number) => bytes.readUInt32BE(o);
    if (bytes[12] !== 1) return undefined;
    return { raw: bytes, mxFrame: u32(16), frameChecksum: [u32(24), u32(28)], salts: Buffer.from(bytes.subarray(32, 40)) };
  } finally {
    closeSync(fd);
  }
}

/** SQLite's WAL checksum (walChecksumBytes): two running sums over pairs of 32-bit words. */
function checksum(word: (b: Buffer, o: number) => number, data: Buffer, [first, second]: [number, number]): [number, number] {
  let s0 = first;
  let s1 = second;
  for (let o = 0; o < data.length; o += 8) {
    s0 = (s0 + word(data, o) + s1) >>> 0;
    s1 = (s1 + word(data, o + 4) + s0) >>> 0;
  }
  return [s0, s1];
}

function readExactly(fd: number, length: number, position: number, what: string, short: () => Error = () => new WalDamaged(`${what} is cut short`)): Buffer {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) throw short();
    read += n;
  }
  return buffer;
}
