import type { TransformCallback } from 'node:stream';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

/**
 * What nodemailer's DataStream makes of one chunk of DATA (RFC 5321 §4.5.2): a dot at the
 * start of a line doubled, a bare CR or LF made CRLF, with `previous` the last byte of the
 * chunk before (false at the start). nodemailer decides this byte by byte in JavaScript,
 * which was a fifth of the gateway's CPU at 1 MiB; every change hangs on a CR or LF at or
 * just before it, so this visits only those, found with indexOf, and gives the same bytes.
 */
export function stuffDots(chunk: Buffer, previous: number | false): Buffer {
  const parts: Buffer[] = [];
  let copiedTo = 0;
  const insert = (at: number, bytes: Buffer): void => {
    if (at > copiedTo) parts.push(chunk.subarray(copiedTo, at));
    parts.push(bytes);
    copiedTo = at;
  };
  // The first byte follows the last of the chunk before.
  if (chunk.length > 0) {
    const first = chunk[0];
    if (previous === CR && first !== LF) insert(0, first === DOT ? INSERT_LF_DOT : INSERT_LF);
    else if (first === DOT && (previous === LF || previous === false)) insert(0, INSERT_DOT);
    else if (first === LF && previous !== CR) insert(0, INSERT_CR);
  }
  let cr = chunk.indexOf(CR, 0);
  let lf = chunk.indexOf(LF, 0);
  while (cr !== -1 || lf !== -1) {
    if (lf === -1 || (cr !== -1 && cr < lf)) {
      // A CR: the byte after it, if in this chunk, must be LF; else it ends a line all the same.
      const next = cr + 1;
      if (next < chunk.length && chunk[next] !== LF) insert(next, chunk[next] === DOT ? INSERT_LF_DOT : INSERT_LF);
      cr = chunk.indexOf(CR, next);
    } else {
      // An LF: the one at 0 was settled above, against the chunk before.
      if (lf > 0 && chunk[lf - 1] !== CR) insert(lf, INSERT_CR);
      const next = lf + 1;
      if (next < chunk.length && chunk[next] === DOT) insert(next, INSERT_DOT);
      lf = chunk.indexOf(LF, next);
    }
  }
  if (parts.length === 0) return chunk;
  if (copiedTo < chunk.length) parts.push(chunk.subarray(copiedTo));
  return Buffer.concat(parts);
}

type Stuffer = DataStream & { _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void };

/** Puts stuffDots in the place of nodemailer's per-byte loop, for every SMTP connection of the process; its _flush (the final dot) stays. */
export function useNativeDotStuffing(): void {
  (DataStream.prototype as Stuffer)._transform = function (this: DataStream, chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback) {
    if (!chunk || chunk.length === 0) return done();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.inByteCount += bytes.length;
    const out = stuffDots(bytes, this.lastByte);
    this.outByteCount += out.length;
    this.push(out);
    this.lastByte = bytes[bytes.length - 1] ?? this.lastByte;
    done();
  };
}
