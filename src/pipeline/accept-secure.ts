import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import PostalMime from 'postal-mime';
import { contentLanguage, LOCALES } from '../i18n/index.js';
import { newId, newQueueId } from '../lib/ids.js';
import type { NewSecureMessage } from '../queue/queue-store.js';
import type { KeyEncryption } from '../secure/key-encryption.js';
import { BodyEncryptor, newDataKey, sealWithDataKey } from '../secure/message-cipher.js';
import { replyRefHash } from '../secure/secure-replies.js';
import { DATA_KEY_PURPOSE, META_PURPOSE, PORTAL_TOKEN_PURPOSE, type SecureMeta } from '../secure/vault.js';
import { type AcceptContext, acceptedRecord, checkHeaderFrom, type DraftMessage, type SubmissionAcceptance } from './accept-message.js';
import { DataGuard } from './data-guard.js';
import { HeaderCapture, MAX_HEADER_BYTES } from './header-capture.js';
import { headerFields } from './header-from.js';
import { tlsRequiredOf } from './tls-required.js';
import { receivedHeader } from './trace-headers.js';
import { isReturnedVerification } from './verification-header.js';

export interface SecureAcceptContext extends AcceptContext {
  kek: KeyEncryption;
  /** Keys the hashes that link replies to the message. */
  hashKey: Buffer;
}

/** What the organisation's settings say of a secure message as it arrives. */
export interface SecureDraft extends DraftMessage {
  organisationId: string;
  retentionMs: number;
}

/** 256 bits: a portal link must not be guessable, and it is the only thing a notification carries. */
const TOKEN_BYTES = 32;

export function hashPortalToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Mail from a sender routed `secure`: the same checks as any submission, but the body reaches
 * the disk only as ciphertext under a data key of its own, and each recipient gets a portal
 * token. The plaintext never touches the spool; the data key is stored only sealed by the
 * key-encryption key. The worker then notifies each recipient (or delivers directly).
 */
export async function acceptSecure(ctx: SecureAcceptContext, draft: SecureDraft): Promise<SubmissionAcceptance> {
  const now = ctx.clock.now();
  const id = newQueueId(now);
  const key = newDataKey();
  const encryptor = new BodyEncryptor(key, id);
  const writer = await ctx.spool.create(id);
  try {
    encryptor.write(receivedHeader(draft.session, ctx.hostname, id, now));
    const capture = new HeaderCapture(MAX_HEADER_BYTES, ctx.maxReceived);
    await pipeline(draft.body, new DataGuard(ctx.maxMessageBytes), capture, encryptor, writer.stream);
    if (await isReturnedVerification(ctx, capture.headers, draft.relay)) {
      await writer.discard();
      return { kind: 'verification' };
    }
    await checkHeaderFrom(ctx.senderPolicy, draft.credentialId, capture.headers);
    const sizeBytes = await writer.finish();
    const meta = await metaOf(capture.headers, draft.envelope.mailFrom);
    const seal = encryptor.seal();
    const secure: NewSecureMessage = {
      organisationId: draft.organisationId,
      dataKeySealed: ctx.kek.seal(key, { purpose: DATA_KEY_PURPOSE, id }),
      bodyIv: seal.iv,
      bodyTag: seal.tag,
      metaSealed: sealWithDataKey(key, id, META_PURPOSE, JSON.stringify(meta)),
      retainUntil: now + draft.retentionMs,
      language: languageOf(capture.headers),
      replyRefs: meta.messageId ? [replyRefHash(ctx.hashKey, meta.messageId)] : [],
      recipients: draft.envelope.recipients.map((r) => {
        const recipientId = newId('srcp');
        const token = randomBytes(TOKEN_BYTES).toString('base64url');
        return {
          id: recipientId,
          address: r.address,
          tokenHash: hashPortalToken(token),
          tokenSealed: ctx.kek.seal(token, { purpose: PORTAL_TOKEN_PURPOSE, id: recipientId }),
        };
      }),
    };
    await ctx.committer.commit({
      ...acceptedRecord(ctx, { id, now, sizeBytes, envelope: draft.envelope, credentialId: draft.credentialId, clientIp: draft.session.clientIp }),
      direction: 'secure',
      tlsRequired: tlsRequiredOf(draft.envelope, capture.headers),
      secure,
    });
    return { kind: 'queued', id };
  } catch (err) {
    await writer.discard();
    throw err;
  } finally {
    key.fill(0);
  }
}

/** The message's Content-Language (RFC 3282), if the portal speaks it: the recipient mails and pages then do too. */
function languageOf(headers: Buffer): string | null {
  const field = headerFields(headers).find((f) => f.name.toLowerCase() === 'content-language');
  return contentLanguage(field?.value, LOCALES) ?? null;
}

async function metaOf(headers: Buffer, mailFrom: string): Promise<SecureMeta> {
  const parsed = await PostalMime.parse(Buffer.concat([headers, Buffer.from('\r\n\r\n')]));
  const from = parsed.from && 'address' in parsed.from ? parsed.from : undefined;
  return {
    subject: parsed.subject ?? '',
    fromName: from?.name ?? '',
    fromAddress: from?.address ?? mailFrom,
    messageId: parsed.messageId ?? null,
  };
}
