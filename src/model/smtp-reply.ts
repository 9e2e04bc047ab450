import { isStorageFull } from '../lib/storage-full.js';
import { isStoreBusy } from '../lib/store-busy.js';
import { StoreNotDurable } from './durability-failure.js';

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
  /** RFC 4616 §2: a credential acts only as itself, so an authorization identity must be empty or the authentication identity. */
  static authorizationIdentityRefused(): SmtpReply {
    return new SmtpReply(535, '7.8', 'Authorization identity must be empty or equal to the authentication identity (RFC 4616 section 2)');
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
  /** maxConnections reached; RFC 3463 §3.8: 4.7.0 for a security or policy reason. */
  static tooManyConnections(): SmtpReply {
    return new SmtpReply(421, '7.0', 'Too many connected clients, try again in a moment');
  }
  /** smtp.maxConnectionsPerIp reached (Postfix's smtpd_client_connection_count_limit answers the same). */
  static tooManyConnectionsFromAddress(): SmtpReply {
    return new SmtpReply(421, '7.0', 'Too many connections from your address, try again later');
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
  /** The store's lock is held elsewhere (a backup, a long CLI transaction) beyond the busy timeout. */
  static storeBusy(cause?: unknown): SmtpReply {
    return new SmtpReply(451, '3.0', 'Queue storage is busy, try again later', cause);
  }
  /**
   * RFC 3463 X.3.0: the store's sync to disk failed and the store has not been proven durable
   * since, so a message accepted now might not survive a power cut; the client keeps it. At
   * MAIL FROM while that is known; at the end of DATA for the commit whose sync failed.
   */
  static storeNotDurable(cause?: unknown): SmtpReply {
    return new SmtpReply(451, '3.0', 'Queue storage failed to sync to disk; no mail is accepted until it is proven durable, try again later', cause);
  }
  /** What to answer for a failure that is not the client's: no room to store it, a store not durable or busy, or any other local error. */
  static forLocalFailure(cause: unknown): SmtpReply {
    if (cause instanceof StoreNotDurable) return SmtpReply.storeNotDurable(cause);
    if (isStorageFull(cause)) return SmtpReply.insufficientStorage(cause);
    return isStoreBusy(cause) ? SmtpReply.storeBusy(cause) : SmtpReply.localError(cause);
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
  /** RFC 5321 §4.1.1.1: HELO and EHLO take exactly one argument. */
  static greetingArgumentMissing(verb: 'EHLO' | 'HELO'): SmtpReply {
    return new SmtpReply(501, '5.4', `Syntax: ${verb} followed by your domain name or address literal (RFC 5321 section 4.1.1.1)`);
  }
  /** RFC 5321 §4.1.1.1: the argument is a domain or an address literal; it ends up in the Received field. */
  static greetingArgumentInvalid(verb: 'EHLO' | 'HELO', problem: string): SmtpReply {
    return new SmtpReply(501, '5.4', `${verb} argument ${problem}; send your domain name or an address literal such as [192.0.2.1] (RFC 5321 section 4.1.1.1)`);
  }
  /** RFC 5321 §4.1.1.11: a parameter of an extension this server did not announce. `keyword` is checked esmtp-keyword syntax. */
  static parameterNotRecognized(command: 'MAIL FROM' | 'RCPT TO', keyword: string): SmtpReply {
    return new SmtpReply(555, '5.4', `${command} parameter ${keyword} not recognized or not implemented`);
  }
  /** A parameter of an announced extension with a value its RFC does not allow. */
  static parameterInvalid(keyword: string, problem: string): SmtpReply {
    return new SmtpReply(501, '5.4', `Syntax error in ${keyword} parameter: ${problem}`);
  }
  /** RFC 5321 §4.1.2: esmtp-param = esmtp-keyword ["=" esmtp-value]. */
  static parameterMalformed(): SmtpReply {
    return new SmtpReply(501, '5.4', 'Syntax error in parameters: each must be KEYWORD or KEYWORD=value (RFC 5321 section 4.1.2)');
  }
  static parameterRepeated(keyword: string): SmtpReply {
    return new SmtpReply(501, '5.4', `${keyword} parameter given more than once`);
  }
  /** RFC 6531 §3.4: a non-ASCII mailbox needs SMTPUTF8 on MAIL FROM. The address is not echoed: the client has not said it reads UTF-8. */
  static nonAsciiAddressWithoutSmtpUtf8(): SmtpReply {
    return new SmtpReply(553, '6.7', 'Non-ASCII address not permitted without SMTPUTF8 on MAIL FROM (RFC 6531)');
  }
  static localPartTooLong(): SmtpReply {
    return new SmtpReply(553, '1.3', 'Address local part longer than 64 octets (RFC 5321 section 4.5.3.1.1)');
  }
  static domainTooLong(): SmtpReply {
    return new SmtpReply(553, '1.3', 'Address domain longer than 255 octets (RFC 5321 section 4.5.3.1.2)');
  }
  /** RFC 3463 X.2.1 (mailbox disabled), transient: the domain's inbound target is disabled until an administrator enables it. */
  static applicationDisabled(domain: string): SmtpReply {
    return new SmtpReply(450, '2.1', `The receiving application for ${domain} is disabled here; keep the message and try again later`);
  }
  /** RFC 5321 §6.3 and RFC 3463 X.4.6: this many Received fields means the message is going round in circles. */
  static mailLoop(receivedCount: number, limit: number): SmtpReply {
    return new SmtpReply(554, '4.6', `Too many Received header fields (${receivedCount} > ${limit}): mail loop? (RFC 5321 section 6.3)`);
  }
  /**
   * An inbound (relay) credential revoked, expired or removed since this session's AUTH: 421 and
   * close, so the organisation's server keeps its queued mail (a 5xx would bounce the customer's
   * message) and meets the revocation as 535 at its next AUTH.
   */
  static relayCredentialWithdrawn(cause?: unknown): SmtpReply {
    return new SmtpReply(421, '7.0', 'The authenticated credential is no longer valid, closing connection; try again later', cause);
  }
  /** The relay port: neither AUTH nor a client certificate, so nothing may be relayed (RFC 4954 §6). */
  static relayAuthenticationRequired(): SmtpReply {
    return new SmtpReply(530, '7.0', 'Authentication required: present a client certificate in STARTTLS, or AUTH with an inbound credential');
  }
  /** The relay port: a client certificate that establishes no inbound credential; the reason is safe to say (it is about the client's own certificate). */
  static clientCertificateRefused(reason: string): SmtpReply {
    return new SmtpReply(550, '7.1', `Relaying denied: client certificate not accepted: ${reason}`);
  }
  /** The relay port relays for inbound credentials only; submission goes to the submission ports. */
  static relayPortNotForSubmission(): SmtpReply {
    return new SmtpReply(
      550,
      '7.1',
      'Relaying denied: this port relays inbound mail for inbound credentials; submit with a submission credential on the submission port',
    );
  }
  /**
   * A certificate whose credentials span several domains relays for one domain per
   * transaction (the webhook names one credential); RFC 5321 §4.5.3.1.10 452: the client sends
   * the rest in another transaction, as it does after too many recipients.
   */
  static oneDomainPerTransaction(domain: string): SmtpReply {
    return new SmtpReply(452, '5.3', `This transaction relays for ${domain}; send mail for other domains in another transaction`);
  }
  static delivered(detail: string): SmtpReply {
    return new SmtpReply(250, '0.0', `Ok: ${detail}`);
  }
}

/** True when a reply text already begins with an enhanced status code. */
export const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
