import { randomBytes } from 'node:crypto';

// Crockford base32: case-insensitive, no I/L/O/U, safe to read out over the phone.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Queue ids sort by arrival time (48-bit millisecond prefix) so that `queue list` and the
 * spool directory read in order, with 80 random bits so that ids never collide across
 * processes or instances.
 */
export function newQueueId(nowMs: number = Date.now()): string {
  const time = Buffer.alloc(6);
  time.writeUIntBE(nowMs, 0, 6);
  return base32(Buffer.concat([time, randomBytes(10)]));
}

export function newId(prefix: string, randomByteCount = 10): string {
  return `${prefix}_${base32(randomBytes(randomByteCount)).toLowerCase()}`;
}
