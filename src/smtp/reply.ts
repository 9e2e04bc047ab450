import { isStorageFull } from '../lib/storage-full.js';

/** Why a sender address is refused, in words safe to tell the client (no internal detail). */
export type SenderRefusal = 'not-an-address' | 'domain-not-verified' | 'domain-disconnected' | 'not-in-allowed-senders';

const SENDER_REFUSAL_TEXT: Record<SenderRefusal, string> = {
  'not-an-address': 'it is not a valid mail address',
  'domain-not-verified': "its domain is not a verified domain of this credential's organisation",
  'not-in-allowed-senders': "it is not in this credential's allowed senders",
  'domain-disconnected': 'its domain is disconnected (or being disconnected) from this gateway',
};

/** Why an authenticated session may not submit at all. */
export type SubmissionRefusal = 'inbound-credential' | 'unknown-credential' | 'credential-not-valid';

const SUBMISSION_REFUSAL_TEXT: Record<SubmissionRefusal, string> = {
  'inbound-credential': 'this is an inbound credential, which cannot send mail; use a submission credential',
  'unknown-credential': 'the authenticated credential is not known',
  'credential-not-valid': 'the credential has been revoked, has expired or was retired',
};

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
  /** RFC 4954 §6: the check could not be made just now (the store did not answer). */
  static authUnavailable(): SmtpReply {
    return new SmtpReply(454, '7.0', 'Temporary authentication failure, try again later');
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
  /** RFC 3463 X.7.1: the envelope sender (MAIL FROM) is not one this credential may use. */
  static senderNotAllowed(address: string, reason: SenderRefusal, cause?: unknown): SmtpReply {
    return new SmtpReply(550, '7.1', `Sender address <${address}> not allowed: ${SENDER_REFUSAL_TEXT[reason]}`, cause);
  }
  /** RFC 3463 X.7.1: the header From (RFC 5322 §3.6.2), what recipients see, is not one this credential may use. */
  static headerFromNotAllowed(address: string, reason: SenderRefusal, cause?: unknown): SmtpReply {
    return new SmtpReply(550, '7.1', `Header From address <${address}> not allowed: ${SENDER_REFUSAL_TEXT[reason]}`, cause);
  }
  /** No open relay through any credential: only live submission credentials submit. */
  static submissionNotAllowed(reason: SubmissionRefusal, cause?: unknown): SmtpReply {
    return new SmtpReply(550, '7.1', `Submission not allowed: ${SUBMISSION_REFUSAL_TEXT[reason]}`, cause);
  }
  /** Temporary (4xx): the client keeps the message and retries once the hour has moved on. */
  static messageRateExceeded(perHour: number): SmtpReply {
    return new SmtpReply(450, '7.1', `Message rate limit of ${perHour} per hour reached for this credential, try again later`);
  }
  /** RFC 5322 §3.6: the From field is required, exactly once. */
  static headerFromMissing(): SmtpReply {
    return new SmtpReply(550, '6.0', 'Message has no From header (RFC 5322 section 3.6 requires one)');
  }
  static headerFromRepeated(): SmtpReply {
    return new SmtpReply(550, '6.0', 'Message has more than one From header (RFC 5322 section 3.6 allows one)');
  }
  static headerFromUnreadable(): SmtpReply {
    return new SmtpReply(550, '6.0', 'Message From header holds no valid mailbox (RFC 5322 section 3.6.2)');
  }
  /** RFC 5322 §3.6.2: several authors need a Sender field naming the one who sent it. */
  static headerSenderRequired(): SmtpReply {
    return new SmtpReply(550, '6.0', 'Message has several From addresses but no Sender header (RFC 5322 section 3.6.2)');
  }
  static headerSectionTooBig(limitBytes: number): SmtpReply {
    return new SmtpReply(552, '3.4', `Message header section exceeds ${limitBytes} bytes`);
  }
  static localError(cause?: unknown): SmtpReply {
    return new SmtpReply(451, '3.0', 'Local error in processing, try again later', cause);
  }
  /**
   * RFC 5321 §4.5.3.1.10 and RFC 3463 X.3.1: the gateway has no room to store the message;
   * the client keeps it and retries. At MAIL FROM when free space is below health.minFreeDisk,
   * at end of DATA when a write ran out of space.
   */
  static insufficientStorage(cause?: unknown): SmtpReply {
    return new SmtpReply(452, '3.1', 'Insufficient system storage, try again later', cause);
  }
  /** What to answer for a failure that is not the client's: no room to store it, or any other local error. */
  static forLocalFailure(cause: unknown): SmtpReply {
    return isStorageFull(cause) ? SmtpReply.insufficientStorage(cause) : SmtpReply.localError(cause);
  }
  /** RFC 3463 §3.8 X.7.1: a route (`route 3 (*.example.com)` or `the default route`) refuses this sender. */
  static senderRouteRejected(routeName: string): SmtpReply {
    return new SmtpReply(550, '7.1', `Sender domain refused by ${routeName}`);
  }
  /** RFC 3463 X.1.1: a domain we receive for, but no such address or alias in it. */
  static unknownRecipient(address: string): SmtpReply {
    return new SmtpReply(550, '1.1', `Recipient address <${address}> rejected: no such address here`);
  }
  /** RFC 3463 X.7.1: not a destination this client may relay to (no open relay). */
  static relayDenied(address: string, scope: string): SmtpReply {
    return new SmtpReply(550, '7.1', `Relaying denied: <${address}> is not ${scope}`);
  }
  /** A disconnect is draining the domain: the organisation's server keeps the mail and stops sending here. */
  static domainDisconnecting(domain: string): SmtpReply {
    return new SmtpReply(450, '7.1', `Domain ${domain} is being disconnected from this gateway; no new mail is taken for it`);
  }
  static domainDisconnected(domain: string): SmtpReply {
    return new SmtpReply(550, '7.1', `Domain ${domain} is disconnected from this gateway`);
  }
  /** Synchronous inbound: the application did not take the message now; the client keeps it and retries. */
  static applicationUnavailable(): SmtpReply {
    return new SmtpReply(451, '3.0', 'The receiving application did not accept the message now, try again later');
  }
  /** Synchronous inbound: the application refused the message for good. */
  static applicationRefused(reason: string): SmtpReply {
    return new SmtpReply(550, '7.1', `The receiving application refused the message${reason ? `: ${reason}` : ''}`);
  }
  static delivered(detail: string): SmtpReply {
    return new SmtpReply(250, '0.0', `Ok: ${detail}`);
  }
}

/** True when a reply text already begins with an enhanced status code. */
export const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
