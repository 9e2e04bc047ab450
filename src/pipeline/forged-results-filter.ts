import { Transform, type TransformCallback } from 'node:stream';

/**
 * Past this much header section the filter stops looking and passes the rest through. The
 * acceptance path refuses header sections over 64 KiB before this matters (HeaderCapture);
 * the limit only keeps the filter's memory bounded wherever else it is used.
 */
export const MAX_FILTERED_HEADER_BYTES = 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;

/**
 * Removes from the header section every Authentication-Results field that claims our
 * authserv-id: RFC 8601 §5 has a border MTA delete such fields before adding its own, or
 * anyone could send mail that says we authenticated it. Fields of other authserv-ids, the
 * rest of the header section and the body pass through byte for byte; the body is not
 * held, only the field being read and the line being assembled. Runs behind the DataGuard,
 * so lines end in CRLF; a bare LF is kept as part of its line.
 */
export class ForgedResultsFilter extends Transform {
  private readonly authservId: string;
  private readonly maxBytes: number;
  private inHeader = true;
  private headerBytes = 0;
  /** The start of the line being assembled, and whether the byte before this chunk was CR. */
  private partial: Buffer[] = [];
  private afterCr = false;
  /** The lines of the field being read: kept until the next line shows the field has ended. */
  private field: Buffer[] = [];

  constructor(authservId: string, maxBytes = MAX_FILTERED_HEADER_BYTES) {
    super();
    this.authservId = authservId.toLowerCase();
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inHeader) this.readHeader(chunk);
    else this.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A message without a body ends with its last field, perhaps without a final CRLF.
    if (this.inHeader) {
      const last = Buffer.concat(this.partial);
      if (last.length > 0) this.line(last);
      this.endField();
    }
    callback();
  }

  private readHeader(chunk: Buffer): void {
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1 && this.inHeader; lf = chunk.indexOf(LF, lf + 1)) {
      const crBefore = lf > 0 ? chunk[lf - 1] === CR : this.afterCr;
      if (!crBefore) continue;
      this.partial.push(chunk.subarray(start, lf + 1));
      start = lf + 1;
      const line = Buffer.concat(this.partial);
      this.partial = [];
      this.headerBytes += line.length;
      this.line(line);
    }
    const rest = chunk.subarray(start);
    if (!this.inHeader) {
      if (rest.length > 0) this.push(rest);
      return;
    }
    this.partial.push(rest);
    this.afterCr = chunk.length > 0 ? chunk[chunk.length - 1] === CR : this.afterCr;
    if (this.headerBytes + this.partial.reduce((n, b) => n + b.length, 0) > this.maxBytes) this.giveUp();
  }

  /** A whole line of the header section: a continuation (RFC 5322 §2.2.3), a new field, or the empty line that ends the section. */
  private line(line: Buffer): void {
    const first = line[0];
    if ((first === 0x20 || first === 0x09) && this.field.length > 0) {
      this.field.push(line);
      return;
    }
    this.endField();
    if (line.length === 2 && first === CR) {
      this.inHeader = false;
      this.push(line);
    } else this.field.push(line);
  }

  private endField(): void {
    if (this.field.length === 0) return;
    const field = Buffer.concat(this.field);
    this.field = [];
    if (!claimsAuthservId(field.toString('latin1'), this.authservId)) this.push(field);
  }

  private giveUp(): void {
    this.inHeader = false;
    for (const part of [...this.field, ...this.partial]) this.push(part);
    this.field = [];
    this.partial = [];
  }
}

/**
 * Whether a field is Authentication-Results with this authserv-id (compared without regard to
 * case, RFC 8601 §2.5). The name may have spaces before its colon (RFC 5322 §4.5); the id is
 * a token or a quoted-string after optional comments and folding whitespace (RFC 8601 §2.2).
 */
function claimsAuthservId(field: string, authservId: string): boolean {
  // Unfolded first: a fold between the name and its colon is not RFC 5322, but parsers that
  // unfold before splitting (postal-mime, which builds the webhook payload) still read the
  // field as Authentication-Results, so it must not slip past here.
  const unfolded = field.replace(/\r\n(?=[ \t])/g, '');
  const name = /^authentication-results[ \t]*:/i.exec(unfolded);
  if (!name) return false;
  const value = unfolded.slice(name[0].length).replace(/\r\n/g, '');
  const id = firstValue(value);
  return id !== undefined && id.toLowerCase() === authservId;
}

function firstValue(value: string): string | undefined {
  let i = skipCfws(value, 0);
  if (value[i] !== '"') return /^[^\s;()"]+/.exec(value.slice(i))?.[0];
  let text = '';
  for (i += 1; i < value.length && value[i] !== '"'; i += 1) text += value[i] === '\\' ? (value[++i] ?? '') : value[i];
  return text;
}

/** Past whitespace and comments, which nest and may quote characters (RFC 5322 §3.2.2). */
function skipCfws(value: string, from: number): number {
  let depth = 0;
  let i = from;
  for (; i < value.length; i += 1) {
    const c = value[i];
    if (c === '\\' && depth > 0) i += 1;
    else if (c === '(') depth += 1;
    else if (c === ')' && depth > 0) depth -= 1;
    else if (depth === 0 && c !== ' ' && c !== '\t') break;
  }
  return i;
}
