import { createHash, type KeyObject, sign } from 'node:crypto';
import { type RawField, relaxedHeader } from './canonicalize.js';
import type { DkimAlgorithm } from './keys.js';

/** A key that signs now: the domain's d=, the selector's s=, the private key opened. */
export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: KeyObject;
}

/**
 * Which header fields a signature covers. Trace fields (Received, Return-Path) are never
 * signed: every hop adds them. Listing a name once more than the message has it
 * ("oversigning", RFC 6376 §8.15) makes a field added later break the signature, so a
 * signed message cannot be replayed with a second From or Subject that mail programs
 * would show. The split follows rspamd's defaults:
 * - always oversigned, present or not: who it is from, where replies go, what it says.
 *   A message always has From here (acceptance refuses one without).
 * - oversigned when present: fields RFC 5322 §3.6 allows at most once. Not when absent,
 *   because a next hop may add a missing Date, Message-ID or a To for Bcc-only mail
 *   (Postfix's undisclosed_recipients_header) and must not break our signature by it.
 * - signed as present: List-Unsubscribe(-Post), which RFC 8058 §4 requires to be signed
 *   for one-click unsubscribe, and which mailing lists legitimately add.
 */
const ALWAYS_OVERSIGNED = ['from', 'reply-to', 'subject'];
const OVERSIGNED_WHEN_PRESENT = [
  'sender',
  'to',
  'cc',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
];
const SIGNED_AS_PRESENT = ['list-unsubscribe', 'list-unsubscribe-post'];

/** The h= list for a message's fields: each name as often as it occurs, plus the oversigned extra. */
export function signedFieldNames(fields: RawField[]): string[] {
  const count = (name: string) => fields.filter((f) => f.key === name).length;
  const times = (name: string, extra: number) => Array<string>(count(name) + extra).fill(name);
  return [
    ...ALWAYS_OVERSIGNED.flatMap((name) => times(name, 1)),
    ...OVERSIGNED_WHEN_PRESENT.flatMap((name) => times(name, count(name) > 0 ? 1 : 0)),
    ...SIGNED_AS_PRESENT.flatMap((name) => times(name, 0)),
  ];
}

/**
 * The canonical header data for h= (RFC 6376 §5.4.2): each listed name takes the next
 * instance of that field from the bottom of the header; a name with none left (the
 * oversigned extra) contributes the null string.
 */
function canonicalFields(fields: RawField[], names: string[]): string {
  const used = new Map<string, number>();
  let data = '';
  for (const name of names) {
    const instances = fields.filter((f) => f.key === name);
    const taken = used.get(name) ?? 0;
    const field = instances[instances.length - 1 - taken];
    used.set(name, taken + 1);
    if (field) data += `${relaxedHeader(field.raw)}\r\n`;
  }
  return data;
}

const FOLD_AT = 72;

/** Joins items with `separator`, starting a continuation line (CRLF + tab: FWS) before the line grows past FOLD_AT. */
function folded(prefix: string, items: string[], separator: string): string {
  let out = prefix;
  let lineLength = prefix.length + 1;
  items.forEach((item, i) => {
    const piece = i === 0 ? item : `${separator}${item}`;
    if (i > 0 && lineLength + piece.length > FOLD_AT) {
      out += `${separator}\r\n\t${item}`;
      lineLength = 1 + item.length;
    } else {
      out += piece;
      lineLength += piece.length;
    }
  });
  return out;
}

function chunked(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

/**
 * One DKIM-Signature field, CRLF-terminated, for a message with these header fields and
 * this relaxed body hash: relaxed/relaxed (RFC 6376 §3.4), t= the signing time, no l=
 * (a body length limit lets anyone append content), no x= (the gateway signs at each
 * delivery attempt, so a signature is always fresh). The signed data is the canonical
 * header fields and then this field with an empty b=, without its final CRLF (§3.7).
 */
export function signatureField(key: SigningKey, fields: RawField[], bodyHash: string, signedAtMs: number): string {
  const names = signedFieldNames(fields);
  const head =
    `DKIM-Signature: v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${key.domain};\r\n` +
    `\ts=${key.selector}; t=${Math.floor(signedAtMs / 1000)};\r\n` +
    `${folded('\th=', names, ':')};\r\n` +
    `\tbh=${bodyHash};\r\n` +
    `\tb=`;
  const data = Buffer.from(canonicalFields(fields, names) + relaxedHeader(head), 'latin1');
  return `${head}${chunked(signatureOf(key, data), FOLD_AT).join('\r\n\t')}\r\n`;
}

/**
 * rsa-sha256 is RSASSA-PKCS1-v1_5 over SHA-256 (RFC 6376 §3.3.1); ed25519-sha256 is
 * PureEdDSA over the SHA-256 digest of the same data (RFC 8463 §3).
 */
function signatureOf(key: SigningKey, data: Buffer): string {
  if (key.algorithm === 'rsa-sha256') return sign('sha256', data, key.privateKey).toString('base64');
  return sign(null, createHash('sha256').update(data).digest(), key.privateKey).toString('base64');
}
