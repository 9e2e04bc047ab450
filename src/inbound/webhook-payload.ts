import PostalMime, { type Address, type Attachment, type Mailbox } from 'postal-mime';

/** How the message reached us, as the SMTP session saw it. */
export interface RelayFacts {
  authenticated: boolean;
  credentialId: string | null;
  domain: string | null;
  clientIp: string;
  tlsVersion: string | null;
  tlsCipher: string | null;
  /**
   * The client certificate that established the credential on the relay port: the name the
   * credential gives and the SHA-256 of the certificate's public key (base64). Null (or, in
   * records stored before it existed, absent) when AUTH did, or nothing did.
   */
  clientCertificate?: { name: string; spkiSha256: string } | null;
}

export interface PayloadInput {
  eventId: string;
  queueId: string;
  receivedAt: number;
  /** The full message as delivered, our trace headers included. */
  raw: Buffer;
  envelope: { mailFrom: string; recipients: string[] };
  relay: RelayFacts;
  /** The authentication facts (SPF, DKIM, DMARC, ARC), passed through as they are. */
  authentication: unknown;
  authenticationResults: string | null;
  /** Attachments up to this size carry their content inline (base64); larger ones get a URL. */
  inlineLimitBytes: number;
  /** Already signed and absolute. */
  urls: { raw: string; attachment(index: number): string };
}

export interface NamedAddress {
  address: string;
  name: string | null;
}

export interface AttachmentFile {
  filename: string | null;
  contentType: string;
  content: Buffer;
}

/**
 * The `message.received` event body. The message is parsed whole in memory, which the SMTP
 * SIZE limit bounds. Rejects only if postal-mime refuses the message (nesting or header size
 * beyond its limits).
 */
export async function buildWebhookPayload(input: PayloadInput): Promise<Record<string, unknown>> {
  const email = await PostalMime.parse(input.raw);
  const { authenticated, ...relay } = input.relay;
  return {
    type: 'message.received',
    id: input.eventId,
    queueId: input.queueId,
    receivedAt: new Date(input.receivedAt).toISOString(),
    envelope: { mailFrom: input.envelope.mailFrom, recipients: [...input.envelope.recipients] },
    authenticated,
    relay: { ...relay, clientCertificate: relay.clientCertificate ?? null },
    authentication: input.authentication,
    authenticationResults: input.authenticationResults,
    messageId: email.messageId ?? null,
    subject: email.subject ?? null,
    from: mailboxes(email.from ? [email.from] : undefined)[0] ?? null,
    to: mailboxes(email.to),
    cc: mailboxes(email.cc),
    replyTo: mailboxes(email.replyTo),
    date: email.date ?? null,
    inReplyTo: email.inReplyTo ?? null,
    references: messageIds(email.references),
    headers: email.headers.map((header) => ({ name: header.originalKey, value: header.value })),
    text: email.text ?? null,
    html: email.html ?? null,
    attachments: email.attachments.map((attachment, index) => describeAttachment(attachment, index, input)),
    rawUrl: input.urls.raw,
  };
}

/** The attachment the payload numbered `index`, for the download endpoint; parsing again keeps the numbering identical. */
export async function attachmentAt(raw: Buffer, index: number): Promise<AttachmentFile | undefined> {
  const email = await PostalMime.parse(raw);
  const attachment = email.attachments[index];
  if (!attachment) return undefined;
  return { filename: attachment.filename, contentType: attachment.mimeType, content: contentOf(attachment) };
}

function describeAttachment(attachment: Attachment, index: number, input: PayloadInput): Record<string, unknown> {
  const content = contentOf(attachment);
  const inline = content.length <= input.inlineLimitBytes;
  return {
    index,
    filename: attachment.filename,
    contentType: attachment.mimeType,
    size: content.length,
    // Without the angle brackets, as `cid:` URLs in the HTML refer to it (RFC 2392).
    contentId: attachment.contentId?.replace(/^<(.*)>$/, '$1') ?? null,
    disposition: attachment.disposition,
    ...(inline ? { content: content.toString('base64') } : { url: input.urls.attachment(index) }),
  };
}

function contentOf(attachment: Attachment): Buffer {
  const { content } = attachment;
  if (typeof content === 'string') return Buffer.from(content, attachment.encoding === 'base64' ? 'base64' : 'utf8');
  return content instanceof ArrayBuffer ? Buffer.from(content) : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

/** Group members are listed as plain mailboxes: the application wants recipients, not syntax. */
function mailboxes(addresses: Address[] | undefined): NamedAddress[] {
  return (addresses ?? [])
    .flatMap((address): Mailbox[] => (address.group ? address.group : [address]))
    .map((mailbox) => ({ address: mailbox.address, name: mailbox.name === '' ? null : mailbox.name }));
}

/** `References` as the list of msg-ids it is (RFC 5322 §3.6.4). */
function messageIds(header: string | undefined): string[] {
  if (!header) return [];
  return header.match(/<[^<>\s]+>/g) ?? header.split(/\s+/).filter((id) => id !== '');
}
