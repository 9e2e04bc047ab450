import { Type } from 'typebox';
import { invalid } from '../../model/directory-error.js';
import type { SecureMessageDetail, SecureMessageView, SecureRecipientView } from '../../secure/secure-messages.js';
import { MAX_RETENTION_DAYS } from '../../secure/secure-settings.js';
import type { ApiContext } from '../api-context.js';
import { errorResponses, iso, PageQuery, pageOf, Timestamp } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const RecipientSchema = Type.Object({
  address: Type.String(),
  status: Type.Enum(['pending', 'notified', 'delivered', 'opened', 'replied', 'bounced'], {
    description:
      'pending: nothing sent yet; notified: the portal notification was accepted; delivered: delivered directly (inbound direct delivery); opened: read in the portal; replied: a secure reply came back; bounced: the notification or delivery failed for good',
  }),
  revoked: Type.Boolean({ description: 'the access of this recipient was revoked' }),
  revokedAt: Timestamp,
  lockedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'when too many wrong one-time codes locked the portal link (20 for the link, or 50 for the address across its links); null while it opens',
  }),
  wrongCodes: Type.Integer({ description: 'wrong one-time codes entered for the portal link since it was sent or last unlocked' }),
  deliveredVia: Nullable(Type.Enum(['portal', 'direct'])),
  fallbackReason: Nullable(Type.String({ description: 'why a domain flagged for direct delivery got the portal notification instead' })),
  evidence: Type.Unknown({ description: 'the delivery evidence of a direct delivery, or of the attempt that failed the proof; null otherwise' }),
  notifiedAt: Timestamp,
  openedAt: Timestamp,
  repliedAt: Timestamp,
  bouncedAt: Timestamp,
});

const MessageSchema = Type.Object({
  id: Type.String({ description: 'the queue id the message arrived with' }),
  sender: Type.String({ description: 'the envelope sender' }),
  subject: Nullable(Type.String({ description: 'null once shredded: the subject is kept only under the message key' })),
  createdAt: Timestamp,
  retainUntil: Timestamp,
  revokedAt: Timestamp,
  shreddedAt: Timestamp,
  recipientCount: Type.Integer(),
});

const MessageDetailSchema = Type.Object({ ...MessageSchema.properties, recipients: Type.Array(RecipientSchema) });

const SettingsSchema = Type.Object({
  retentionDays: Type.Integer({
    minimum: 1,
    maximum: MAX_RETENTION_DAYS,
    description: 'days a secure message stays readable before it is shredded; applies to messages accepted from then on',
  }),
  readReceipts: Type.Boolean({ description: 'the sender gets a read receipt when a recipient first opens a message' }),
  readReceiptFormat: Type.Enum(['text', 'mdn'], {
    description: 'text: a mail for people; mdn: an RFC 8098 message disposition notification (multipart/report) for applications that parse receipts',
  }),
  neutralSubject: Type.Boolean({ description: 'notifications carry a neutral subject ("Secure message from …") instead of the real one' }),
  locale: Type.Enum(['en', 'nl', 'de', 'fr'], {
    description: "language of the recipient mails when the message's Content-Language names none of these; the portal follows the reader's browser",
  }),
  timeZone: Type.String({ maxLength: 64, description: 'IANA time zone of the dates recipients read in the portal and the mails, e.g. Europe/Amsterdam' }),
  brandName: Nullable(Type.String({ maxLength: 80, description: 'organisation name on the portal and in notifications; null: none' })),
  brandColour: Nullable(
    Type.String({
      pattern: '^#[0-9a-fA-F]{6}$',
      description: 'accent colour of buttons and links as #RRGGBB; refused when white text on it has less than 4.5:1 contrast (WCAG 2.1 AA); null: the default',
    }),
  ),
  brandLogo: Nullable(
    Type.Object({
      type: Type.Enum(['image/png', 'image/svg+xml']),
      sizeBytes: Type.Integer(),
      sha256: Type.String(),
    }),
  ),
});

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z]{1,40}$' }) });
const RecipientParams = Type.Object({ id: IdParams.properties.id, address: Type.String({ minLength: 1, maxLength: 320 }) });

const view = (m: SecureMessageView) => ({
  ...m,
  createdAt: iso(m.createdAt),
  retainUntil: iso(m.retainUntil),
  revokedAt: iso(m.revokedAt),
  shreddedAt: iso(m.shreddedAt),
});
const recipientView = (r: SecureRecipientView) => ({
  ...r,
  revokedAt: iso(r.revokedAt),
  lockedAt: iso(r.lockedAt),
  notifiedAt: iso(r.notifiedAt),
  openedAt: iso(r.openedAt),
  repliedAt: iso(r.repliedAt),
  bouncedAt: iso(r.bouncedAt),
});
const detailView = (m: SecureMessageDetail) => ({ ...view(m), recipients: m.recipients.map(recipientView) });

/**
 * The sender's controls over secure messages (issue 6): per-recipient status, revoking a
 * message or one recipient's access, deleting (crypto-shredding), and the organisation's settings.
 */
export function secureMessageRoutes({ app, services }: ApiContext): void {
  app.get(
    '/secure-messages',
    {
      schema: {
        tags: ['secure-messages'],
        summary: 'List secure messages, newest first',
        querystring: PageQuery,
        response: { 200: pageOf(MessageSchema), ...errorResponses },
      },
    },
    async (request) => {
      const page = await services.secureMessages.list(request.query);
      return { ...page, items: page.items.map(view) };
    },
  );

  app.get(
    '/secure-messages/:id',
    {
      schema: {
        tags: ['secure-messages'],
        summary: 'A secure message with the status of each recipient',
        params: IdParams,
        response: { 200: MessageDetailSchema, ...errorResponses },
      },
    },
    async (request) => detailView(await services.secureMessages.show(request.params.id)),
  );

  app.post(
    '/secure-messages/:id/revoke',
    {
      schema: {
        tags: ['secure-messages'],
        summary: 'Revoke a message: notifications not yet sent are not sent, the portal no longer opens it, open portal sessions end',
        params: IdParams,
        response: { 200: MessageDetailSchema, ...errorResponses },
      },
    },
    async (request) => detailView(await services.secureMessages.revoke(request.params.id, request.actor)),
  );

  app.post(
    '/secure-messages/:id/recipients/:address/revoke',
    {
      schema: {
        tags: ['secure-messages'],
        summary: "Revoke one recipient's access; the others keep theirs",
        params: RecipientParams,
        response: { 200: MessageDetailSchema, ...errorResponses },
      },
    },
    async (request) => detailView(await services.secureMessages.revokeRecipient(request.params.id, request.params.address, request.actor)),
  );

  app.post(
    '/secure-messages/:id/recipients/:address/unlock',
    {
      schema: {
        tags: ['secure-messages'],
        summary: "Unlock a recipient's portal link that wrong one-time codes locked; its count of wrong codes starts again",
        params: RecipientParams,
        response: { 200: MessageDetailSchema, ...errorResponses },
      },
    },
    async (request) => detailView(await services.secureMessages.unlock(request.params.id, request.params.address, request.actor)),
  );

  app.delete(
    '/secure-messages/:id',
    {
      schema: {
        tags: ['secure-messages'],
        summary: 'Delete a message by crypto-shredding: its data key is destroyed, then the ciphertext; the record stays for the log',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await services.secureMessages.shred(request.params.id, request.actor);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/secure-settings',
    { schema: { tags: ['secure-messages'], summary: "The organisation's settings for secure messages", response: { 200: SettingsSchema, ...errorResponses } } },
    async () => services.secureSettings.get(),
  );

  app.patch(
    '/secure-settings',
    {
      schema: {
        tags: ['secure-messages'],
        summary: "Change the organisation's settings for secure messages",
        body: Type.Object(
          {
            retentionDays: Type.Optional(SettingsSchema.properties.retentionDays),
            readReceipts: Type.Optional(SettingsSchema.properties.readReceipts),
            readReceiptFormat: Type.Optional(SettingsSchema.properties.readReceiptFormat),
            neutralSubject: Type.Optional(SettingsSchema.properties.neutralSubject),
            locale: Type.Optional(SettingsSchema.properties.locale),
            timeZone: Type.Optional(SettingsSchema.properties.timeZone),
            brandName: Type.Optional(SettingsSchema.properties.brandName),
            brandColour: Type.Optional(SettingsSchema.properties.brandColour),
            brandLogo: Type.Optional(
              Nullable(
                Type.String({
                  maxLength: 140_000,
                  contentEncoding: 'base64',
                  description: 'the logo file, base64: a PNG or an SVG without script, event handlers or outside references, at most 100 KiB; null removes it',
                }),
              ),
            ),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { brandLogo, ...rest } = request.body;
      return services.secureSettings.update(
        { ...rest, ...(brandLogo === undefined ? {} : { brandLogo: brandLogo === null ? null : decodeLogo(brandLogo) }) },
        request.actor,
      );
    },
  );
}

/** Strict base64: a logo that is not cleanly encoded is refused, not decoded into something else. */
function decodeLogo(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw invalid('brandLogo', 'brandLogo must be the file encoded as base64');
  return Buffer.from(clean, 'base64');
}
