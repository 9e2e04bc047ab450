import { Transform, type TransformCallback } from 'node:stream';
import { SmtpReply } from '../model/smtp-reply.js';

/**
 * RFC 5322 sets no limit on the header section, but a submitting application's headers fit
 * in a few KiB; 64 KiB leaves room for long DKIM and ARC chains. A larger section is refused
 * rather than checked in part: a From placed past the limit would go unchecked.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

/** RFC 5321 §6.3 asks for a hop limit of at least 100 in principle; 50 is Postfix's hopcount_limit, which mail in practice meets first. */
export const DEFAULT_MAX_RECEIVED = 50;

const CRLF = Buffer.from('\r\n');
const END_OF_HEADERS = Buffer.from('\r\n\r\n');
// A field name at the start of a line; RFC 5322 §4.5.3 (obsolete syntax) allows blanks before the colon.
const RECEIVED_FIELD = /^received[ \t]*:/gim;

/**
 * Passes the message through unchanged and keeps a copy of its header section: everything
 * before the empty line that ends it (RFC 5322 §2.1), or the whole message when it has no
 * body. Runs behind the DataGuard, so every line already ends in CRLF. Holds at most
 * maxBytes plus one chunk, whatever the size of the message.
 */
export class HeaderCapture extends Transform {
  private readonly maxBytes: number;
  private readonly maxReceived: number;
  private pending: Buffer = Buffer.alloc(0);
  private section: Buffer | undefined;

  /** `maxReceived`: more Received fields than this are a loop (smtp.maxReceived), refused 554 5.4.6. */
  constructor(maxBytes = MAX_HEADER_BYTES, maxReceived = DEFAULT_MAX_RECEIVED) {
    super();
    this.maxBytes = maxBytes;
    this.maxReceived = maxReceived;
  }

  /** The header section without its final CRLF; complete once the stream has finished. */
  get headers(): Buffer {
    if (this.section === undefined) throw new Error('the header section is known only after the message has been read');
    return this.section;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const problem = this.section === undefined ? this.capture(chunk) : undefined;
    callback(problem ?? null, problem ? undefined : chunk);
  }

  override _flush(callback: TransformCallback): void {
    // No end marker: the whole message is the header section (see capture for the margin).
    if (this.section === undefined && this.pending.length > this.maxBytes) return callback(SmtpReply.headerSectionTooBig(this.maxBytes));
    if (this.section === undefined) {
      this.section = this.pending;
      return callback(this.loopRefusal() ?? null);
    }
    callback();
  }

  private capture(chunk: Buffer): SmtpReply | undefined {
    // The end marker may straddle two chunks: search again from just before the new bytes.
    const searchFrom = Math.max(0, this.pending.length - (END_OF_HEADERS.length - 1));
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = this.pending.subarray(0, CRLF.length).equals(CRLF) ? 0 : this.pending.indexOf(END_OF_HEADERS, searchFrom);
    // Without the end marker yet, its first three bytes may be the last ones held: only what
    // precedes them is surely header section, so the verdict does not depend on where TCP cut.
    const known = end === -1 ? this.pending.length - (END_OF_HEADERS.length - 1) : end;
    if (known > this.maxBytes) return SmtpReply.headerSectionTooBig(this.maxBytes);
    if (end !== -1) {
      this.section = Buffer.from(this.pending.subarray(0, end));
      this.pending = Buffer.alloc(0);
      return this.loopRefusal();
    }
    return undefined;
  }

  /**
   * Counted once, over the whole section (at most maxBytes): a regular expression over its
   * latin1 text, one pass, no per-byte work in JavaScript. Folded continuation lines start
   * with a blank, so only field names at the start of a line match.
   */
  private loopRefusal(): SmtpReply | undefined {
    const received = this.section?.toString('latin1').match(RECEIVED_FIELD)?.length ?? 0;
    return received > this.maxReceived ? SmtpReply.mailLoop(received, this.maxReceived) : undefined;
  }
}
