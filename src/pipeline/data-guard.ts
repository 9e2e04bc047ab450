import { Transform, type TransformCallback } from 'node:stream';
import { SmtpReply } from '../model/smtp-reply.js';

const CR = 0x0d;
const LF = 0x0a;
/** RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including the CRLF. */
export const MAX_LINE_OCTETS = 998;

/**
 * Passes message content through unchanged while enforcing what smtp-server does not:
 * CR and LF only as a CRLF pair, no NUL, no line over 998 octets, and the size limit
 * (failing as soon as it is passed, so an oversized message never fills the spool).
 * smtp-server only ends DATA at CRLF.CRLF but hands bare CR/LF to us; relaying those
 * bytes would let a weaker next hop split one message into two (SMTP smuggling). The
 * first violation fails the stream with the SmtpReply to send; nothing is repaired.
 * Scans with indexOf so a 25 MiB message costs native-speed passes, not a JS byte loop.
 */
export class DataGuard extends Transform {
  private readonly maxBytes: number;
  private byteCount = 0;
  private lineLength = 0;
  private pendingCr = false;

  constructor(maxBytes: number) {
    super();
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length;
    if (this.byteCount > this.maxBytes) return callback(SmtpReply.messageTooBig(this.maxBytes));
    const violation = this.check(chunk);
    if (violation) return callback(violation);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.pendingCr ? SmtpReply.bareLineEnding() : null);
  }

  private check(chunk: Buffer): SmtpReply | undefined {
    if (chunk.indexOf(0) !== -1) return SmtpReply.nulInMessage();
    if (this.pendingCr && chunk[0] !== LF) return SmtpReply.bareLineEnding();
    for (let cr = chunk.indexOf(CR); cr !== -1; cr = chunk.indexOf(CR, cr + 1)) {
      if (cr + 1 < chunk.length && chunk[cr + 1] !== LF) return SmtpReply.bareLineEnding();
    }
    let lineStart = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const precededByCr = lf > 0 ? chunk[lf - 1] === CR : this.pendingCr;
      if (!precededByCr) return SmtpReply.bareLineEnding();
      const octets = this.lineLength + (lf - lineStart) - 1; // without the CR
      if (octets > MAX_LINE_OCTETS) return SmtpReply.lineTooLong();
      this.lineLength = 0;
      lineStart = lf + 1;
    }
    this.lineLength += chunk.length - lineStart;
    this.pendingCr = chunk[chunk.length - 1] === CR;
    // A CR waiting for its LF in the next chunk is not yet part of the line's length.
    if (this.lineLength - (this.pendingCr ? 1 : 0) > MAX_LINE_OCTETS) return SmtpReply.lineTooLong();
    return undefined;
  }
}
