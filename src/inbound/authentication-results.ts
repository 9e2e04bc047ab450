import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { AuthenticateResult, DKIMResult, DMARCResult, DNSResolver, SPFResult } from 'mailauth';
import { nodeStyleResolver } from '../dns/mailauth-resolver.js';
import type { DnsResolver } from '../dns/resolver.js';

/** The inbound credential that authenticated the SMTP session, and the domain it belongs to. */
export interface SmtpAuthFact {
  credentialId: string;
  domain: string;
}

/** What was checked, in RFC 8601 §2.7 result words; the header says the same. */
export interface AuthFacts {
  auth: { result: 'pass' | 'none'; credentialId: string | null; domain: string | null };
  /** pass, fail, softfail, neutral, none, temperror, permerror (RFC 7208 §2.6); domain: of MAIL FROM, or HELO when MAIL FROM is null. */
  spf: { result: string; domain: string | null };
  /** One per DKIM-Signature field, empty when the message is unsigned (RFC 6376 §3.5). */
  dkim: Array<{ result: string; domain: string | null; selector: string | null }>;
  /** domain: of the RFC5322.From address; policy: the p= (or sp=) that applies (RFC 7489 §6.3). */
  dmarc: { result: string; domain: string | null; policy: string | null };
}

export interface AuthVerdict {
  /** The whole Authentication-Results field, folded, ending in CRLF. */
  header: string;
  facts: AuthFacts;
}

export interface AuthenticateInput {
  /** The message as the client sent it, header section and body, CRLF line endings. */
  body: Readable | Buffer;
  clientIp: string;
  helo: string;
  /** The MAIL FROM address, '' for the null reverse-path. */
  mailFrom: string;
  /** Names this gateway in the header (RFC 8601 §2.5); the forged-results filter removes others' claims to it. */
  authservId: string;
  resolver: DnsResolver;
  smtpAuth: SmtpAuthFact | null;
}

/** One method's result (RFC 8601 §2.2 resinfo): a comment for people, properties for programs. */
interface Resinfo {
  method: string;
  result: string;
  comment?: string | undefined;
  properties: Array<[string, string]>;
}

/**
 * Checks SPF, DKIM and DMARC with mailauth and states them, with the SMTP AUTH result, in
 * one Authentication-Results field of our own. DNS and parse failures are results
 * (temperror, permerror, neutral), not exceptions: this rejects only when `body` itself
 * fails, since then there is no message to mark. Reads `body` to its end.
 */
// Loaded with the first inbound message: the whole of mailauth (DKIM, DMARC, ARC, BIMI, the
// public suffix list) adds ~30 MB to the resident size of a gateway that may never receive one.
let mailauth: Promise<typeof import('mailauth')> | undefined;
const loadMailauth = () => (mailauth ??= import('mailauth'));

export async function authenticateMessage(input: AuthenticateInput): Promise<AuthVerdict> {
  const checked = await checkMessage(input, nodeStyleResolver(input.resolver) as DNSResolver);
  const auth = authResult(input.smtpAuth);
  const spfChecked = spfResult(checked.spf, input.mailFrom, input.helo);
  const dkim = dkimResults(checked.dkim);
  const dmarc = dmarcResult(checked.dmarc, checked.headerFrom);
  return {
    header: formatHeader(input.authservId, [auth.resinfo, spfChecked.resinfo, ...dkim.resinfos, dmarc.resinfo]),
    facts: { auth: auth.fact, spf: spfChecked.fact, dkim: dkim.facts, dmarc: dmarc.fact },
  };
}

/** What mailauth found; 'unparsed' where it failed on the message itself. */
interface Checked {
  spf: SPFResult;
  dkim: AuthenticateResult['dkim'] | 'unparsed';
  dmarc: DMARCResult | false | 'unparsed';
  headerFrom: string[];
}

async function checkMessage(input: AuthenticateInput, resolver: DNSResolver): Promise<Checked> {
  let bodyError: unknown;
  const onBodyError = (error: unknown) => {
    bodyError = error;
  };
  if (!Buffer.isBuffer(input.body)) input.body.on('error', onBodyError);
  const identity = { ip: input.clientIp, helo: input.helo, sender: input.mailFrom, mta: input.authservId, resolver };
  const { authenticate, spf } = await loadMailauth();
  try {
    // ARC is neither reported nor sealed here, so its lookups would be spent for nothing;
    // trustReceived stays off, as the client's own Received fields prove nothing.
    const result = await authenticate(input.body, { ...identity, trustReceived: false, disableArc: true, disableBimi: true });
    if (!result.spf) throw new Error('mailauth returned no SPF result');
    return { spf: result.spf, dkim: result.dkim, dmarc: result.dmarc, headerFrom: result.dkim.headerFrom };
  } catch {
    if (bodyError !== undefined) throw bodyError;
    // mailauth 4.13.3 throws on some messages (a DKIM-Signature with t=1e99 makes an Invalid
    // Date it then formats). SPF depends only on the envelope, so it is still checked.
    const spfOnly = await spf({ ...identity, helo: heloIdentity(input.helo, input.clientIp) });
    return { spf: spfOnly, dkim: 'unparsed', dmarc: 'unparsed', headerFrom: [] };
  } finally {
    if (!Buffer.isBuffer(input.body)) input.body.off('error', onBodyError);
  }
}

/** As authenticate() does: an address literal for an IP (RFC 5321 §4.1.3), the IP when HELO is missing. */
function heloIdentity(helo: string, clientIp: string): string {
  const name = helo || clientIp;
  return isIP(name) ? `[${name}]` : name;
}

function authResult(smtpAuth: SmtpAuthFact | null): { fact: AuthFacts['auth']; resinfo: Resinfo } {
  if (!smtpAuth) return { fact: { result: 'none', credentialId: null, domain: null }, resinfo: { method: 'auth', result: 'none', properties: [] } };
  return {
    fact: { result: 'pass', credentialId: smtpAuth.credentialId, domain: smtpAuth.domain },
    // RFC 8601 §2.7.4: smtp.auth is the identity AUTH established; ours is the credential id.
    resinfo: { method: 'auth', result: 'pass', comment: `inbound credential for ${smtpAuth.domain}`, properties: [['smtp.auth', smtpAuth.credentialId]] },
  };
}

/** RFC 8601 §2.7.2: smtp.mailfrom names the identity checked, smtp.helo when MAIL FROM was null (RFC 7208 §2.4). */
function spfResult(result: SPFResult, mailFrom: string, helo: string): { fact: AuthFacts['spf']; resinfo: Resinfo } {
  const property: [string, string] = mailFrom ? ['smtp.mailfrom', mailFrom] : ['smtp.helo', helo];
  return {
    // mailauth checks "postmaster@[192.0.2.1]" for a null MAIL FROM after an address-literal HELO: no domain.
    fact: { result: result.status.result, domain: /^[^[\]-]/.test(result.domain) ? result.domain : null },
    resinfo: { method: 'spf', result: result.status.result, comment: result.status.comment, properties: [property] },
  };
}

/**
 * One result per DKIM-Signature field. mailauth reports an unsigned message as one result
 * "none" without a domain, and a signature it cannot process (unsupported a= or c=, no d=
 * or s=) not at all, which would make a signed message read as unsigned: such a signature
 * is "neutral" (RFC 8601 §2.7.1).
 */
function dkimResults(dkim: Checked['dkim']): { facts: AuthFacts['dkim']; resinfos: Resinfo[] } {
  if (dkim === 'unparsed') {
    const resinfo: Resinfo = { method: 'dkim', result: 'permerror', comment: 'the message could not be parsed', properties: [] };
    return { facts: [{ result: 'permerror', domain: null, selector: null }], resinfos: [resinfo] };
  }
  const verified = dkim.results.filter((r) => r.signingDomain);
  const fields = (dkim.headers?.parsed ?? []).filter((h) => h.key === 'dkim-signature').map((h) => String(h.line));
  const resinfos = [...verified.map(verifiedResinfo), ...unprocessed(fields, verified)];
  if (resinfos.length === 0) return { facts: [], resinfos: [{ method: 'dkim', result: 'none', properties: [] }] };
  const facts = resinfos.map((r) => ({ result: r.result, domain: property(r, 'header.d'), selector: property(r, 'header.s') }));
  return { facts, resinfos };
}

function verifiedResinfo(r: DKIMResult): Resinfo {
  const notes = [
    r.status.comment,
    r.status.policy?.['dkim-rules'],
    r.status.underSized ? 'undersized signature: l= leaves part of the body unsigned' : undefined,
  ];
  return {
    method: 'dkim',
    result: r.status.result,
    comment: notes.filter(Boolean).join('; ') || undefined,
    properties: [
      ['header.d', r.signingDomain],
      ['header.s', r.selector ?? ''],
    ],
  };
}

/** The DKIM-Signature fields left over once each verified result has claimed its own, by d= and s=. */
function unprocessed(fields: string[], verified: DKIMResult[]): Resinfo[] {
  const claimed = verified.map((r) => `${r.signingDomain}/${r.selector ?? ''}`.toLowerCase());
  const leftOver: Resinfo[] = [];
  for (const field of fields) {
    const d = dkimTag(field, 'd');
    const s = dkimTag(field, 's');
    const at = d && s ? claimed.indexOf(`${d}/${s}`.toLowerCase()) : -1;
    if (at >= 0) claimed.splice(at, 1);
    else {
      const properties: Array<[string, string]> = [
        ['header.d', d],
        ['header.s', s],
      ];
      leftOver.push({ method: 'dkim', result: 'neutral', comment: 'signature not processed: unsupported or missing tags', properties });
    }
  }
  return leftOver;
}

/** A tag's value in a tag-list (RFC 6376 §3.2), whitespace removed; '' when absent. */
function dkimTag(field: string, name: string): string {
  const tags = field.slice(field.indexOf(':') + 1).split(';');
  const tag = tags.map((t) => t.split('=')).find(([key]) => key?.trim().toLowerCase() === name);
  return (tag?.slice(1).join('=') ?? '').replace(/\s+/g, '');
}

function property(resinfo: Resinfo, name: string): string | null {
  return resinfo.properties.find(([key]) => key === name)?.[1] || null;
}

/**
 * header.from is the RFC5322.From domain (RFC 7489 §11.2); mailauth 4.13.3 puts the
 * organizational domain there. mailauth skips DMARC unless the message has exactly one From
 * address; RFC 7489 §6.6.1 leaves such messages without a policy to apply: permerror.
 */
function dmarcResult(result: DMARCResult | false | 'unparsed', headerFrom: string[]): { fact: AuthFacts['dmarc']; resinfo: Resinfo } {
  const fromDomain = headerFrom.length === 1 ? (headerFrom[0]?.split('@').pop()?.toLowerCase() ?? null) : null;
  const properties: Array<[string, string]> = fromDomain ? [['header.from', fromDomain]] : [];
  if (result === 'unparsed' || !result) {
    const comment = result === 'unparsed' ? 'the message could not be parsed' : `${headerFrom.length} RFC5322.From addresses, DMARC needs one`;
    return { fact: { result: 'permerror', domain: fromDomain, policy: null }, resinfo: { method: 'dmarc', result: 'permerror', comment, properties } };
  }
  const policy = result.status.result === 'pass' || result.status.result === 'fail' ? (result.policy?.toLowerCase() ?? null) : null;
  const comment = result.status.comment || result.error;
  return {
    fact: { result: result.status.result, domain: fromDomain, policy },
    resinfo: { method: 'dmarc', result: result.status.result, comment, properties },
  };
}

/** Lines are folded at 78 characters where a break is allowed (RFC 5322 §2.1.1, §2.2.3). */
const LINE_CHARS = 78;

/**
 * `Authentication-Results: authserv-id;` then one resinfo a line (RFC 8601 §2.2). Folds
 * only between tokens and inside comments, where whitespace carries no meaning, so the
 * continuation indent may be deeper for legibility.
 */
function formatHeader(authservId: string, resinfos: Resinfo[]): string {
  const lines = [`Authentication-Results: ${pvalue(authservId)};`];
  resinfos.forEach((resinfo, i) => {
    const words = resinfoWords(resinfo);
    if (i < resinfos.length - 1) words[words.length - 1] += ';';
    lines.push(...fold(words));
  });
  return `${lines.join('\r\n')}\r\n`;
}

function resinfoWords(resinfo: Resinfo): string[] {
  const words = [`${resinfo.method}=${resinfo.result}`];
  if (resinfo.comment) words.push(...comment(resinfo.comment).split(' '));
  for (const [name, value] of resinfo.properties) if (value) words.push(`${name}=${pvalue(value)}`);
  return words;
}

function fold(words: string[]): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > LINE_CHARS) {
      lines.push(line);
      line = `  ${word}`;
    } else line = `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/** RFC 5322 §3.2.2: in a comment, backslash and both parentheses are quoted; control characters become spaces. */
function comment(text: string): string {
  const clean = text
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return `(${clean.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

/** An RFC 2045 token: printable US-ASCII but space and tspecials. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
/** RFC 8601 §2.2 also takes a bare addr-spec: dot-atom local part, domain name. */
const ADDRESS = /^[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z]+(?:\.[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z]+)*@[0-9A-Za-z](?:[0-9A-Za-z.-]*[0-9A-Za-z])?$/;

/** A property value (RFC 8601 §2.2 pvalue): as is when a token or address, else a quoted-string. */
function pvalue(value: string): string {
  if (TOKEN.test(value) || ADDRESS.test(value)) return value;
  return `"${value.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
