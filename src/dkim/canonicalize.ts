import { createHash, type Hash } from 'node:crypto';

/**
 * A header field as stored: `raw` is the whole field, continuation lines included, without
 * its final CRLF. Text is latin1 throughout so every octet maps to one character and back:
 * 8-bit header bytes (RFC 6532) are hashed exactly as they travel.
 */
export interface RawField {
  /** Lowercase, without trailing whitespace: what h= lists. */
  key: string;
  raw: string;
}

/** Fields of a header section (without the empty line that ends it); lines that are not fields are skipped. */
export function headerFieldsOf(section: string): RawField[] {
  const fields: RawField[] = [];
  for (const line of section.split('\r\n')) {
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.raw += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.push({ key: withoutTrailingWsp(line.slice(0, colon)).toLowerCase(), raw: line });
  }
  return fields;
}

/**
 * The "relaxed" header canonicalization (RFC 6376 §3.4.2): lowercase name, unfolded value,
 * whitespace runs reduced to one space and trimmed at both ends, no space around the colon.
 */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = withoutTrailingWsp(raw.slice(0, colon)).toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** Without the spaces and tabs at its end; a loop, as `[ \t]+$` backtracks quadratically over inner runs. */
function withoutTrailingWsp(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === ' ' || text[end - 1] === '\t')) end -= 1;
  return text.slice(0, end);
}

const CR = 13;
const LF = 10;
/**
 * A line held back between chunks is at most 998 octets in a stored message (DataGuard);
 * anything longer is hashed as it comes, so memory stays bounded for any input.
 */
const MAX_CARRY_CHARS = 64 * 1024;

/**
 * SHA-256 of the body under "relaxed" body canonicalization (RFC 6376 §3.4.4), computed as
 * the body streams past: whitespace at line ends dropped, other runs of it reduced to one
 * space, empty lines at the end ignored (held back until content follows them), and a
 * CRLF added to a last line without one. Whole chunks go through two native replaces
 * instead of a JavaScript loop per byte; only the unfinished last line of a chunk waits
 * for the next one. Lines are CRLF-terminated; a lone CR or LF is content.
 *
 * Measured on a 50 MiB message read from disk in 64 KiB chunks: base64 lines 2.2–2.9 ms/MiB
 * (of which reading 1.3–1.8), whitespace-heavy prose 5–7 ms/MiB; mailauth's streaming
 * dkimSign took 8–11 ms/MiB on the same base64 file.
 */
export class RelaxedBodyHash {
  private readonly hash: Hash = createHash('sha256');
  private carry = '';
  private emptyLines = 0;
  /** Part of the current line was hashed already (a line longer than MAX_CARRY_CHARS). */
  private lineStarted = false;

  update(chunk: Buffer): void {
    const text = this.carry + chunk.toString('latin1');
    const end = text.lastIndexOf('\r\n');
    if (end === -1) {
      this.carry = text;
      if (this.carry.length > MAX_CARRY_CHARS) this.hashLinePrefix();
      return;
    }
    this.carry = text.slice(end + 2);
    // Runs (a tab, or two or more; single spaces stay as they are) first, then the one
    // space left before each line end: `[ \t]+\r\n` would backtrack quadratically over
    // every long run of spaces that does not end its line (1.9 s for 2 MB of such lines).
    this.hashLines(
      text
        .slice(0, end + 2)
        .replace(/\t[ \t]*| [ \t]+/g, ' ')
        .replaceAll(' \r\n', '\r\n'),
    );
  }

  /** Base64, as bh= carries it. */
  digest(): string {
    const last = this.carry.replace(/[ \t]+/g, ' ').replace(/ $/, '');
    if (last !== '' || this.lineStarted) this.emit(`${last}\r\n`);
    return this.hash.digest('base64');
  }

  /** Canonical complete lines, ending in CRLF; empty lines at their end wait for content. */
  private hashLines(lines: string): void {
    let trailing = 0;
    while (
      trailing * 2 < lines.length &&
      lines.charCodeAt(lines.length - 2 * trailing - 1) === LF &&
      lines.charCodeAt(lines.length - 2 * trailing - 2) === CR
    ) {
      trailing += 1;
    }
    if (trailing * 2 === lines.length) {
      // Only line ends: the first ends a line already begun, the rest are empty lines.
      if (this.lineStarted) this.emit('\r\n');
      this.emptyLines += this.lineStarted ? trailing - 1 : trailing;
    } else {
      this.emit(lines.slice(0, lines.length - 2 * (trailing - 1)));
      this.emptyLines = trailing - 1;
    }
    this.lineStarted = false;
  }

  /** Hashes a long unfinished line up to its last non-space; the whitespace after it may still be trailing. */
  private hashLinePrefix(): void {
    const searchEnd = this.carry.endsWith('\r') ? this.carry.length - 1 : this.carry.length;
    let cut = searchEnd - 1;
    while (cut >= 0 && (this.carry[cut] === ' ' || this.carry[cut] === '\t')) cut -= 1;
    if (cut < 0) {
      this.carry = searchEnd < this.carry.length ? ' \r' : ' ';
      return;
    }
    this.emit(this.carry.slice(0, cut + 1).replace(/[ \t]+/g, ' '));
    this.lineStarted = true;
    this.carry = this.carry.slice(cut + 1);
  }

  /** Content: the empty lines held back before it belong to the body after all. */
  private emit(content: string): void {
    if (this.emptyLines > 0 && !this.lineStarted) this.hash.update('\r\n'.repeat(this.emptyLines), 'latin1');
    this.emptyLines = 0;
    this.hash.update(content, 'latin1');
  }
}
