import { Type } from 'typebox';
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
  neutralSubject: Type.Boolean({ description: 'notifications carry a neutral subject ("Secure message from …") instead of the real one' }),
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
            neutralSubject: Type.Optional(SettingsSchema.properties.neutralSubject),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SettingsSchema, ...errorResponses },
      },
    },
    async (request) => services.secureSettings.update(request.body, request.actor),
  );
}
