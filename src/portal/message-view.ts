import PostalMime from 'postal-mime';
import type { UnlockedMessage } from '../secure/vault.js';
import { type InlineImage, sanitizeMessageHtml } from './sanitize.js';

export interface ShownAttachment {
  /** Position among the parsed message's attachments: the download path's `:n`. */
  index: number;
  filename: string;
  contentType: string;
  sizeBytes: number;
  content: Buffer;
}

export interface ShownMessage {
  subject: string;
  fromName: string;
  fromAddress: string;
  date: Date;
  /** Sanitised, for the sandboxed frame; undefined for a text-only message. */
  html: string | undefined;
  text: string;
  /** Inline images the HTML shows are not listed again. */
  attachments: ShownAttachment[];
  /** Images the HTML would have fetched from elsewhere: dropped, and the reader told so. */
  remoteImagesBlocked: number;
}

/** The decrypted message as the portal shows it, parsed with postal-mime. */
export async function showMessage(unlocked: UnlockedMessage): Promise<ShownMessage> {
  const email = await PostalMime.parse(await unlocked.readBody(), { attachmentEncoding: 'arraybuffer' });
  const all = email.attachments.map((a, index) => ({
    index,
    filename: a.filename || `attachment-${index + 1}`,
    contentType: a.mimeType,
    contentId: a.contentId?.replace(/^<|>$/g, ''),
    content: Buffer.from(a.content instanceof ArrayBuffer ? new Uint8Array(a.content) : typeof a.content === 'string' ? Buffer.from(a.content) : a.content),
  }));
  const inline: InlineImage[] = all.flatMap((a) => (a.contentId ? [{ contentId: a.contentId, mimeType: a.contentType, content: a.content }] : []));
  const sanitized = email.html ? sanitizeMessageHtml(email.html, inline) : undefined;
  const date = email.date ? new Date(email.date) : new Date(unlocked.row.createdAt);
  return {
    subject: unlocked.meta.subject || email.subject || '',
    fromName: unlocked.meta.fromName,
    fromAddress: unlocked.meta.fromAddress,
    date: Number.isNaN(date.getTime()) ? new Date(unlocked.row.createdAt) : date,
    html: sanitized?.html,
    text: email.text ?? '',
    attachments: all
      .filter((a) => !(a.contentId && sanitized?.usedContentIds.has(a.contentId.toLowerCase())))
      .map((a) => ({ index: a.index, filename: a.filename, contentType: a.contentType, sizeBytes: a.content.length, content: a.content })),
    remoteImagesBlocked: sanitized?.remoteImagesBlocked ?? 0,
  };
}

/** Types a browser may be told as they are; anything else is application/octet-stream. */
const SAFE_DOWNLOAD_TYPES = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain', 'text/csv']);

export function downloadType(contentType: string): string {
  const type = contentType.toLowerCase();
  if (!SAFE_DOWNLOAD_TYPES.has(type)) return 'application/octet-stream';
  return type.startsWith('text/') ? `${type}; charset=utf-8` : type;
}

/**
 * RFC 6266 §4.3: an ASCII `filename` for old clients and the exact name as `filename*`
 * (RFC 8187), percent-encoded beyond attr-char. Path separators and controls never survive.
 */
export function attachmentDisposition(filename: string): string {
  const clean = filename.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200) || 'attachment';
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["%;]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
