import { SmtpReply } from '../model/smtp-reply.js';

export type EnvelopeCommand = 'MAIL FROM' | 'RCPT TO';

export interface EnvelopeLineContext {
  command: EnvelopeCommand;
  /** REQUIRETLS (RFC 8689) and AUTH (RFC 4954) are announced only once TLS is up. */
  secure: boolean;
  /** RCPT TO: whether MAIL FROM carried SMTPUTF8 (RFC 6531 §3.4). */
  smtpUtf8: boolean;
}

type ValueCheck = (value: string | undefined, ctx: EnvelopeLineContext) => string | undefined;

/** RFC 3461 §4: xtext, printable ASCII but "+" and "=", which are written as "+XX"; UTF-8 too once SMTPUTF8 is on (RFC 6533). */
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;
const UTF8_XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e\u0080-\u{10ffff}]|\+[0-9A-F]{2})+$/u;
const ESMTP_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** RFC 5321 §4.1.2 atom, for the addr-type of ORCPT. */
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;

const noValue: ValueCheck = (value) => (value === undefined ? undefined : 'it takes no value');
const oneOf =
  (...allowed: string[]): ValueCheck =>
  (value) =>
    value !== undefined && allowed.includes(value.toUpperCase()) ? undefined : `it must be ${allowed.join(' or ')}`;
const xtext =
  (maxChars: number): ValueCheck =>
  (value, ctx) => {
    if (value === undefined || !(ctx.smtpUtf8 ? UTF8_XTEXT : XTEXT).test(value)) return 'it must be xtext (RFC 3461 section 4)';
    return decodedLength(value) > maxChars ? `it must be at most ${maxChars} characters` : undefined;
  };

/**
 * The parameters of the extensions the gateway announces in EHLO, with what each allows:
 * SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461), REQUIRETLS
 * (RFC 8689) and AUTH (RFC 4954 §5). No BINARYMIME: CHUNKING is not announced (RFC 3030).
 */
const MAIL_PARAMETERS: Record<string, ValueCheck> = {
  SIZE: (value) => (value !== undefined && /^\d{1,20}$/.test(value) ? undefined : 'it must be the message size in octets, 1 to 20 digits (RFC 1870)'),
  BODY: oneOf('7BIT', '8BITMIME'),
  SMTPUTF8: noValue,
  RET: oneOf('FULL', 'HDRS'),
  ENVID: xtext(100),
  REQUIRETLS: noValue,
  AUTH: xtext(1000),
};
const SECURE_ONLY = new Set(['REQUIRETLS', 'AUTH']);

const RCPT_PARAMETERS: Record<string, ValueCheck> = {
  NOTIFY: (value) => {
    const values = (value ?? '').toUpperCase().split(',');
    const ok = values.length === new Set(values).size && (value?.toUpperCase() === 'NEVER' || values.every((v) => ['SUCCESS', 'FAILURE', 'DELAY'].includes(v)));
    return ok ? undefined : 'it must be NEVER, or SUCCESS, FAILURE and DELAY separated by commas (RFC 3461 section 4.1)';
  },
  ORCPT: (value, ctx) => {
    const [type = '', address] = (value ?? '').split(/;(.*)/s);
    if (!ATOM.test(type) || address === undefined) return 'it must be addr-type;xtext, e.g. rfc822;user@example.com (RFC 3461 section 4.2)';
    return xtext(500)(address, ctx);
  },
};

/**
 * The refusal of a MAIL FROM or RCPT TO line for its parameters or its address, or
 * undefined when smtp-server may go on with it. Read from the line as sent: smtp-server
 * decodes A-labels to Unicode before handing the address on, which would make every
 * international domain look non-ASCII. A path that is not `<…>` is left to smtp-server's
 * 501. Parameters first (555 for one of an extension not announced, 501 for a bad value),
 * then the lengths of RFC 5321 §4.5.3.1, then SMTPUTF8 for a non-ASCII address.
 */
export function envelopeLineObjection(line: string, ctx: EnvelopeLineContext): SmtpReply | undefined {
  const [path = '', ...parameters] = line
    .slice(line.indexOf(':') + 1)
    .trim()
    .split(/\s+/);
  if (!/^<[^<>]*>$/.test(path)) return undefined;
  const given = new Set<string>();
  for (const parameter of parameters) {
    const objection = parameterObjection(parameter, given, ctx);
    if (objection) return objection;
  }
  const smtpUtf8 = ctx.command === 'MAIL FROM' ? given.has('SMTPUTF8') : ctx.smtpUtf8;
  return addressObjection(withoutSourceRoute(path.slice(1, -1)), smtpUtf8);
}

function parameterObjection(parameter: string, given: Set<string>, ctx: EnvelopeLineContext): SmtpReply | undefined {
  const eq = parameter.indexOf('=');
  const keyword = (eq === -1 ? parameter : parameter.slice(0, eq)).toUpperCase();
  const value = eq === -1 ? undefined : parameter.slice(eq + 1);
  if (!ESMTP_KEYWORD.test(keyword)) return SmtpReply.parameterMalformed();
  if (given.has(keyword)) return SmtpReply.parameterRepeated(keyword);
  given.add(keyword);
  const known = ctx.command === 'MAIL FROM' ? MAIL_PARAMETERS : RCPT_PARAMETERS;
  const check = Object.hasOwn(known, keyword) && (ctx.secure || !SECURE_ONLY.has(keyword)) ? known[keyword] : undefined;
  if (!check) return SmtpReply.parameterNotRecognized(ctx.command, keyword);
  const problem = check(value, ctx);
  return problem ? SmtpReply.parameterInvalid(keyword, problem) : undefined;
}

function addressObjection(address: string, smtpUtf8: boolean): SmtpReply | undefined {
  const at = address.lastIndexOf('@');
  if (at !== -1) {
    if (Buffer.byteLength(address.slice(0, at)) > 64) return SmtpReply.localPartTooLong();
    if (Buffer.byteLength(address.slice(at + 1)) > 255) return SmtpReply.domainTooLong();
  }
  return !smtpUtf8 && /[^\x00-\x7f]/.test(address) ? SmtpReply.nonAsciiAddressWithoutSmtpUtf8() : undefined;
}

/** RFC 5321 §4.1.2, appendix C: a source route ("@relay.example:") is accepted and ignored. */
function withoutSourceRoute(path: string): string {
  return path.replace(/^@[^\s,:@]+(?:,@[^\s,:@]+)*:/, '');
}

function decodedLength(value: string): number {
  return [...value.replace(/\+[0-9A-F]{2}/g, '_')].length;
}
