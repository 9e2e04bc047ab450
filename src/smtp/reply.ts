/**
 * An SMTP reply the gateway chooses to send: basic code, enhanced status code (RFC 3463)
 * and client-facing text. The detailed reason for logs travels as `cause`, never to the
 * client. Made only by the named constructors below, each pinned by a wire test.
 */
export class SmtpReply extends Error {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;

  private constructor(code: number, subject: `${number}.${number}`, text: string, cause?: unknown) {
    super(`${String(code)[0]}.${subject} ${text}`, cause === undefined ? undefined : { cause });
    this.name = 'SmtpReply';
    this.code = code;
    // RFC 3463 §2: the class digit of the enhanced code repeats the basic code's first digit.
    this.enhanced = `${String(code)[0]}.${subject}`;
    this.text = text;
  }

  /** smtp-server sends `err.responseCode` and `err.message` as the reply. */
  get responseCode(): number {
    return this.code;
  }

  override toString(): string {
    return `${this.code} ${this.message}`;
  }

  static queued(queueId: string): SmtpReply {
    return new SmtpReply(250, '0.0', `Ok: queued as ${queueId}`);
  }
  static mustStartTls(): SmtpReply {
    return new SmtpReply(530, '7.0', 'Must issue a STARTTLS command first');
  }
  static authRequired(): SmtpReply {
    return new SmtpReply(530, '7.0', 'Authentication required');
  }
  static encryptionRequiredForAuth(): SmtpReply {
    return new SmtpReply(538, '7.11', 'Encryption required for requested authentication mechanism');
  }
  static authFailed(cause?: unknown): SmtpReply {
    return new SmtpReply(535, '7.8', 'Authentication credentials invalid', cause);
  }
  static authThrottled(): SmtpReply {
    return new SmtpReply(454, '7.0', 'Too many failed authentication attempts, try again later');
  }
  static messageTooBig(limitBytes: number): SmtpReply {
    return new SmtpReply(552, '3.4', `Message size exceeds fixed maximum message size of ${limitBytes} bytes`);
  }
  static tooManyRecipients(): SmtpReply {
    return new SmtpReply(452, '5.3', 'Too many recipients');
  }
  /** RFC 5321 §2.3.8: CR and LF only as CRLF; anything else is how SMTP smuggling starts. */
  static bareLineEnding(): SmtpReply {
    return new SmtpReply(550, '5.2', 'Message contains bare CR or LF; lines must end with CRLF (RFC 5321 section 2.3.8)');
  }
  static lineTooLong(): SmtpReply {
    return new SmtpReply(550, '5.2', 'Message contains a line longer than 998 octets (RFC 5321 section 4.5.3.1.6)');
  }
  static nulInMessage(): SmtpReply {
    return new SmtpReply(550, '6.0', 'Message contains a NUL octet');
  }
  static commandTimeout(): SmtpReply {
    return new SmtpReply(421, '4.2', 'Command time limit exceeded, closing connection');
  }
  static dataTimeout(): SmtpReply {
    return new SmtpReply(421, '4.2', 'Message time limit exceeded, closing connection');
  }
  static shuttingDown(): SmtpReply {
    return new SmtpReply(421, '3.2', 'Service shutting down, try again later');
  }
  static localError(cause?: unknown): SmtpReply {
    return new SmtpReply(451, '3.0', 'Local error in processing, try again later', cause);
  }
}

/** True when a reply text already begins with an enhanced status code. */
export const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
