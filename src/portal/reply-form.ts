import type { FastifyRequest } from 'fastify';
import type { MessageKey, Params } from '../i18n/index.js';
import type { ReplyAttachment } from './reply-mail.js';

export type ReplyForm =
  | { kind: 'ok'; text: string; attachments: ReplyAttachment[] }
  | { kind: 'csrf' }
  | { kind: 'invalid'; problem: { key: MessageKey; params?: Params } };

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i;

/**
 * Reads the multipart reply form. The CSRF field comes first in the form, so a forged post is
 * refused before any file is read; the files' total is bounded like a message over SMTP.
 */
export async function readReplyForm(request: FastifyRequest, o: { csrfOk(value: string): boolean; maxBytes: number; maxFiles: number }): Promise<ReplyForm> {
  let csrfSeen = false;
  let text = '';
  let total = 0;
  const attachments: ReplyAttachment[] = [];
  for await (const part of request.parts()) {
    if (!csrfSeen && !(part.type === 'field' && part.fieldname === 'csrf')) return { kind: 'csrf' };
    if (part.type === 'field') {
      if (part.fieldname === 'csrf') {
        if (!o.csrfOk(String(part.value))) return { kind: 'csrf' };
        csrfSeen = true;
      } else if (part.fieldname === 'text') {
        if (part.valueTruncated) return { kind: 'invalid', problem: { key: 'reply.tooLong' } };
        text = String(part.value);
      }
      continue;
    }
    const content = await part.toBuffer();
    // An empty file input still sends a part, with no name and no content.
    if (!part.filename && content.length === 0) continue;
    total += content.length;
    if (total + text.length > o.maxBytes)
      return { kind: 'invalid', problem: { key: 'reply.tooLarge', params: { megabytes: Math.floor(o.maxBytes / 1024 / 1024) } } };
    if (attachments.length >= o.maxFiles) return { kind: 'invalid', problem: { key: 'reply.tooMany', params: { count: o.maxFiles } } };
    attachments.push({
      filename: part.filename || 'attachment',
      contentType: MIME_TYPE.test(part.mimetype) ? part.mimetype : 'application/octet-stream',
      content,
    });
  }
  if (!csrfSeen) return { kind: 'csrf' };
  const trimmed = text.replace(/\r\n?/g, '\n').trim();
  if (!trimmed && attachments.length === 0) return { kind: 'invalid', problem: { key: 'reply.empty' } };
  return { kind: 'ok', text: `${trimmed}\n`, attachments };
}
