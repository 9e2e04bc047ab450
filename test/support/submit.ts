import nodemailer from 'nodemailer';

export interface Submission {
  from: string;
  to: string[];
  raw: string | Buffer;
  dsn?: { notify?: string[]; ret?: 'FULL' | 'HDRS'; envid?: string };
}

export interface SubmitCredential {
  username: string;
  secret: string;
}

/** Sends one message the way an application would: STARTTLS, AUTH, one transaction. */
export async function submit(port: number, credential: SubmitCredential, message: Submission): Promise<{ response: string; queueId: string }> {
  const response = await send(port, credential, message);
  const queueId = /queued as ([0-9A-Z]+)/.exec(response)?.[1];
  if (!queueId) throw new Error(`no queue id in ${response}`);
  return { response, queueId };
}

/** The same transaction, for any 2xx answer (a verification mail, a synchronous hand-off): the final reply. */
export async function send(port: number, credential: SubmitCredential, message: Submission): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    auth: { user: credential.username, pass: credential.secret },
    // The gateway's generated development certificate: trusted by pinning in the TLS tests, not here.
    tls: { rejectUnauthorized: false },
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: message.from, to: message.to },
      raw: message.raw,
      ...(message.dsn ? { dsn: { notify: message.dsn.notify, ret: message.dsn.ret, id: message.dsn.envid } } : {}),
    });
    return info.response;
  } finally {
    transport.close();
  }
}

/** A message with the headers an application relies on the gateway to leave alone. */
export function applicationMessage(subject: string, extraHeaders: string[] = []): string {
  const headers = [
    'From: "Support" <support@example.com>',
    'To: customer@example.net',
    `Subject: ${subject}`,
    'Auto-Submitted: auto-generated',
    'X-Auto-Response-Suppress: All',
    'X-Mailer: HelpdeskApp 4.2',
    'X-Ticket-Id:   T-1234   ',
    'X-Folded: first part',
    '\tsecond part',
    `Message-ID: <${subject.replace(/\W/g, '')}@example.com>`,
    ...extraHeaders,
  ];
  return `${headers.join('\r\n')}\r\n\r\nHello,\r\n\r\nYour ticket has been updated.\r\n`;
}
