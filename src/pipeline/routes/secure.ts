import { createHash, randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import PostalMime from 'postal-mime';
import { contentLanguage, LOCALES } from '../../i18n/index.js';
import { newId } from '../../lib/ids.js';
import type { Envelope } from '../../model/envelope.js';
import type { NewSecureMessage } from '../../queue/queue-store.js';
import type { SecureMeta } from '../../secure/vault.js';
import type { RouteKind } from '../accept.js';
import { headerFields } from '../header-from.js';
import { tlsRequiredOf } from '../tls-required.js';
import { checkHeaderFrom, type SubmissionDeps } from './plain.js';

/**
 * The cryptography of a secure message, which src/secure implements (message-sealer.ts) and
 * src/app hands in: the body reaches the disk only as ciphertext under a data key of the
 * message's own, and that key is stored only sealed by the key-encryption key.
 */
export interface SecureSealer {
  /** A fresh data key for message `id`, and the encryption of its body under it. */
  open(id: string): MessageSeal;
  /** A portal token, sealed by the key-encryption key for its recipient row. */
  sealToken(token: string, recipientId: string): string;
  /** A keyed hash of a Message-ID: links the replies to the message without keeping the Message-ID. */
  replyRef(messageId: string): string;
}

export interface MessageSeal {
  /** Encrypts while the body streams to the spool; our Received field is its first write. */
  encryptor: Transform;
  /** Once the whole body went through the encryptor: the sealed data key, the body's IV and tag, and `meta` sealed under the data key. */
  sealed(meta: SecureMeta): Pick<NewSecureMessage, 'dataKeySealed' | 'bodyIv' | 'bodyTag' | 'metaSealed'>;
  /** Zeroes the data key. */
  dispose(): void;
}

export interface SecureDeps extends SubmissionDeps {
  sealer: SecureSealer;
  /** How long the organisation keeps a secure message (its secure settings). */
  retentionMsOf(organisationId: string): Promise<number>;
}

/** 256 bits: a portal link must not be guessable, and it is the only thing a notification carries. */
const TOKEN_BYTES = 32;

export function hashPortalToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Mail from a sender routed `secure`: the same checks as any submission, but the body is
 * stored encrypted, and each recipient gets a portal token. The plaintext never touches the
 * spool. The worker then notifies each recipient (or delivers directly).
 */
export function secureRoute(deps: SecureDeps, organisationId: string): RouteKind {
  return {
    async open(id, now, draft) {
      const retentionMs = await deps.retentionMsOf(organisationId);
      const seal = deps.sealer.open(id);
      try {
        const writer = await deps.spool.create(id);
        return {
          writer,
          asSent: [],
          asStored: [seal.encryptor],
          bodyRead: async () => undefined,
          checkHeaders: (headers) => checkHeaderFrom(deps.senderPolicy, draft.credentialId, headers),
          async record(headers) {
            const meta = await metaOf(headers, draft.envelope.mailFrom);
            const secure: NewSecureMessage = {
              organisationId,
              ...seal.sealed(meta),
              retainUntil: now + retentionMs,
              language: languageOf(headers),
              replyRefs: meta.messageId ? [deps.sealer.replyRef(meta.messageId)] : [],
              recipients: recipientsOf(deps.sealer, draft.envelope),
            };
            return { row: { direction: 'secure', tlsRequired: tlsRequiredOf(draft.envelope, headers), secure } };
          },
          abandon: () => undefined,
          close: () => seal.dispose(),
        };
      } catch (err) {
        seal.dispose();
        throw err;
      }
    },
  };
}

function recipientsOf(sealer: SecureSealer, envelope: Envelope): NewSecureMessage['recipients'] {
  return envelope.recipients.map((r) => {
    const recipientId = newId('srcp');
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    return { id: recipientId, address: r.address, tokenHash: hashPortalToken(token), tokenSealed: sealer.sealToken(token, recipientId) };
  });
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
