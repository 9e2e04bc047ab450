import MailComposer from 'nodemailer/lib/mail-composer';

export interface ComposedMail {
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html?: string | undefined;
  messageId: string;
  date: Date;
  headers?: Record<string, string> | undefined;
  inReplyTo?: string | undefined;
  references?: string | undefined;
  /** With a `cid`, an inline part the HTML shows (`cid:…`, RFC 2392), such as the organisation's logo. */
  attachments?: { filename: string; contentType: string; content: Buffer; cid?: string | undefined }[] | undefined;
}

/**
 * MIME for the mail the gateway writes itself (notifications, one-time codes, secure
 * replies), with Nodemailer's composer: encoded words, line lengths and boundaries are its
 * job. Contents come only from buffers: file and URL access stay off, so no value that a
 * recipient typed can make the composer read a path or fetch a URL.
 */
export async function composeMail(mail: ComposedMail): Promise<Buffer> {
  const composer = new MailComposer({
    ...mail,
    disableFileAccess: true,
    disableUrlAccess: true,
    attachments: mail.attachments?.map((a) => ({ ...a, contentDisposition: a.cid ? 'inline' : 'attachment' })),
  });
  const built = await composer.compile().build();
  // The composer ends lines with LF only; SMTP and DKIM want CRLF (RFC 5322 §2.1).
  return Buffer.from(built.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
