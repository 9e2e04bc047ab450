/**
 * SMTP conformance at the edges an attacker probes (issue 19, points 5 and 6): the
 * authorization identity of AUTH PLAIN (RFC 4616), the HELO/EHLO argument (RFC 5321
 * §4.1.1.1) and what the Received field makes of it (§4.4), and the MAIL/RCPT parameters
 * and addresses (RFC 5321 §4.1.2, §4.5.3.1, RFC 1870, 6152, 6531, 3461). Real sockets and
 * real TLS against an in-process gateway; every refusal is asserted as its whole reply line.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';

type Credential = Awaited<ReturnType<TestGateway['createCredential']>>;

const SLOW_OK = { timeout: 60_000 };
const AUTH_OK = '235 2.7.0 Authentication successful';
const MAIL_OK = '250 2.1.0 Accepted';
const RCPT_OK = '250 2.1.5 Accepted';
const RSET_OK = '250 2.0.0 Flushed';
const AUTHZID_REFUSED = '535 5.7.8 Authorization identity must be empty or equal to the authentication identity (RFC 4616 section 2)';
const EHLO_HINT = 'send your domain name or an address literal such as [192.0.2.1] (RFC 5321 section 4.1.1.1)';
const NOT_A_DOMAIN = 'is not a domain name (labels of letters, digits, underscores and inner hyphens, up to 63 each, separated by single dots)';
const NOT_A_LITERAL = 'is not an IPv4 literal like [192.0.2.1] or an IPv6 literal like [IPv6:2001:db8::1]';
const NON_ASCII = '553 5.6.7 Non-ASCII address not permitted without SMTPUTF8 on MAIL FROM (RFC 6531)';
const LOCAL_TOO_LONG = '553 5.1.3 Address local part longer than 64 octets (RFC 5321 section 4.5.3.1.1)';
const DOMAIN_TOO_LONG = '553 5.1.3 Address domain longer than 255 octets (RFC 5321 section 4.5.3.1.2)';

const dialogs = new Set<SmtpDialog>();

async function open(port: number): Promise<SmtpDialog> {
  const { dialog, greeting } = await openDialog(port);
  dialogs.add(dialog);
  assert.equal(greeting, '220 gateway.test ESMTP');
  return dialog;
}

/** TLS up and EHLO sent with `heloName`, not authenticated. */
async function secured(tg: TestGateway, heloName = 'app.example.com'): Promise<SmtpDialog> {
  const dialog = await open(tg.gateway.ports.smtp);
  assert.match(await dialog.ehlo(heloName), /^250-gateway\.test /);
  await dialog.startTls();
  assert.match(await dialog.ehlo(heloName), /^250-gateway\.test /);
  return dialog;
}

function plain(authzid: string, authcid: string, password: string): string {
  return `AUTH PLAIN ${Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64')}`;
}

describe('SMTP conformance', () => {
  let gw: TestGateway;
  let sink: SmtpSink;
  let credential: Credential;

  before(async () => {
    sink = await startSmtpSink();
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`, 'smtp.authFailuresPerIp': 1000, shutdownTimeout: '2s' });
    credential = await gw.createCredential();
  });
  after(async () => {
    await gw?.stop();
    await sink?.stop();
  });
  afterEach(() => {
    for (const dialog of dialogs) dialog.close();
    dialogs.clear();
  });

  async function authenticated(heloName?: string): Promise<SmtpDialog> {
    const dialog = await secured(gw, heloName);
    assert.equal(await dialog.authPlain(credential.username, credential.secret), AUTH_OK);
    return dialog;
  }

  // RFC 4616 §2: the authzid asks to act as another identity; a credential is only itself.
  // The right secret does not help, and nothing is learnt about it: the refusal comes first.
  test('AUTH PLAIN with an authorization identity other than the authentication identity is refused with 535 5.7.8', SLOW_OK, async () => {
    const dialog = await secured(gw);
    assert.equal(await dialog.send(plain('someone-else', credential.username, credential.secret)), AUTHZID_REFUSED);
    assert.equal(await dialog.send(plain(`${credential.username}x`, credential.username, credential.secret)), AUTHZID_REFUSED);
    assert.equal(await dialog.send(plain(credential.username, credential.username, credential.secret)), AUTH_OK, 'an authzid equal to the authcid');
    const empty = await secured(gw);
    assert.equal(await empty.send(plain('', credential.username, credential.secret)), AUTH_OK, 'an empty authzid');
  });

  // RFC 5321 §4.1.1.1: one argument, a Domain or an address-literal, at most 255 octets.
  // Each case: the argument sent, then the reason the reply gives.
  const badGreetings: [string, string][] = [
    ['client([10.9.9.9])', NOT_A_DOMAIN], // a fake TCP-info comment for the Received field
    ['-app.example.com', NOT_A_DOMAIN], // a label starts with a letter or digit
    ['app-.example.com', NOT_A_DOMAIN], // and ends with one
    ['app..example.com', NOT_A_DOMAIN], // no empty label
    ['app.example.com.', NOT_A_DOMAIN], // no root dot in SMTP's grammar
    [`${'a'.repeat(64)}.example.com`, NOT_A_DOMAIN], // a label of 64
    ['bücher.example', 'is not ASCII (use the A-label form of an international name)'],
    [Array(5).fill('a'.repeat(63)).join('.'), 'is longer than 255 octets'],
    ['[10.9.9.9', 'is not a complete address literal'],
    ['[300.1.1.1]', NOT_A_LITERAL],
    ['[10.9.9]', NOT_A_LITERAL],
    ['[IPv6:2001:db8::zz]', NOT_A_LITERAL],
    ['[2001:db8::1]', NOT_A_LITERAL], // IPv6 needs its tag
    ['[tag:anything]', NOT_A_LITERAL], // no other General-address-literal is registered
  ];

  // smtp-server closes a session after 10 commands without AUTH: a session per case.
  test('an EHLO or HELO argument that is not a domain or address literal is refused with 501 5.5.4 and the reason', SLOW_OK, async () => {
    for (const [argument, problem] of badGreetings) {
      const dialog = await open(gw.gateway.ports.smtp);
      assert.equal(await dialog.send(`EHLO ${argument}`), `501 5.5.4 EHLO argument ${problem}; ${EHLO_HINT}`, argument);
      assert.equal(await dialog.send(`HELO ${argument}`), `501 5.5.4 HELO argument ${problem}; ${EHLO_HINT}`, argument);
      dialog.close();
    }
    const dialog = await open(gw.gateway.ports.smtp);
    for (const line of ['EHLO', 'EHLO app.example.com extra'])
      assert.equal(await dialog.send(line), '501 5.5.4 Syntax: EHLO followed by your domain name or address literal (RFC 5321 section 4.1.1.1)', line);
    assert.equal(await dialog.send('HELO'), '501 5.5.4 Syntax: HELO followed by your domain name or address literal (RFC 5321 section 4.1.1.1)');
    // A refused greeting is not a greeting: the session still waits for one.
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), '503 5.5.1 Error: send HELO/EHLO first');
  });

  test('domains, A-labels and IPv4 and IPv6 address literals are taken as EHLO and HELO arguments', SLOW_OK, async () => {
    const good = [
      'localhost',
      'app.example.com',
      'APP-1.Example.COM',
      'xn--bcher-kva.example',
      'WIN_PC7.corp.example', // an underscore, as Windows hosts send (Postfix takes it too)
      '[192.0.2.1]',
      '[IPv6:2001:db8::1]',
      '[ipv6:::ffff:192.0.2.1]',
      `${'a'.repeat(63)}.example`,
    ];
    for (const argument of good) {
      const dialog = await open(gw.gateway.ports.smtp);
      assert.match(await dialog.send(`EHLO ${argument}`), /^250-gateway\.test Nice to meet you/, argument);
      assert.equal(await dialog.send(`HELO ${argument}`), '250 gateway.test Nice to meet you, [127.0.0.1]', argument);
      dialog.close();
    }
  });

  // RFC 5321 §4.4: the EHLO name is the client's claim and comes first; the TCP-info comment
  // holds the address of the connection. A claim shaped like TCP-info is refused at EHLO, so
  // it never reaches the Received field; an address literal stays in the claim's place.
  test('the Received field shows the EHLO claim first and the socket address in the TCP-info, never a claimed one', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    assert.equal(await dialog.send('EHLO client([10.9.9.9])'), `501 5.5.4 EHLO argument ${NOT_A_DOMAIN}; ${EHLO_HINT}`);
    dialog.close();
    const client = await authenticated('[10.9.9.9]');
    assert.equal(await client.send('MAIL FROM:<app@example.com>'), MAIL_OK);
    assert.equal(await client.send('RCPT TO:<customer@example.net>'), RCPT_OK);
    assert.equal(await client.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
    client.write('From: app@example.com\r\nTo: customer@example.net\r\nSubject: trace\r\n\r\nHello.\r\n');
    assert.match(await client.send('.'), /^250 2\.0\.0 Ok: queued as /);
    const [delivered] = await sink.waitForMessages(1);
    const received = delivered?.raw.toString('latin1').split('\r\n')[0];
    assert.equal(received, 'Received: from [10.9.9.9] ([127.0.0.1])');
  });

  // Each case: the MAIL FROM line after `MAIL FROM:`, then the whole reply. Parameters of
  // an extension the gateway does not announce are 555 (RFC 5321 §4.1.1.11); bad values of
  // announced ones 501 5.5.4; the address limits of §4.5.3.1 and RFC 6531 are 553.
  const mailCases: [string, string][] = [
    ['<app@example.com> FOO=bar', '555 5.5.4 MAIL FROM parameter FOO not recognized or not implemented'],
    ['<app@example.com> XFORWARD', '555 5.5.4 MAIL FROM parameter XFORWARD not recognized or not implemented'],
    ['<app@example.com> NOTIFY=NEVER', '555 5.5.4 MAIL FROM parameter NOTIFY not recognized or not implemented'], // a RCPT parameter
    ['<app@example.com> SIZE=abc', '501 5.5.4 Syntax error in SIZE parameter: it must be the message size in octets, 1 to 20 digits (RFC 1870)'],
    ['<app@example.com> SIZE', '501 5.5.4 Syntax error in SIZE parameter: it must be the message size in octets, 1 to 20 digits (RFC 1870)'],
    ['<app@example.com> SIZE=-1', '501 5.5.4 Syntax error in SIZE parameter: it must be the message size in octets, 1 to 20 digits (RFC 1870)'],
    ['<app@example.com> BODY=foo', '501 5.5.4 Syntax error in BODY parameter: it must be 7BIT or 8BITMIME'],
    ['<app@example.com> BODY=BINARYMIME', '501 5.5.4 Syntax error in BODY parameter: it must be 7BIT or 8BITMIME'], // CHUNKING is not announced
    ['<app@example.com> SMTPUTF8=yes', '501 5.5.4 Syntax error in SMTPUTF8 parameter: it takes no value'],
    ['<app@example.com> RET=ALL', '501 5.5.4 Syntax error in RET parameter: it must be FULL or HDRS'],
    ['<app@example.com> ENVID=a+zz', '501 5.5.4 Syntax error in ENVID parameter: it must be xtext (RFC 3461 section 4)'],
    [`<app@example.com> ENVID=${'e'.repeat(101)}`, '501 5.5.4 Syntax error in ENVID parameter: it must be at most 100 characters'],
    ['<app@example.com> REQUIRETLS=yes', '501 5.5.4 Syntax error in REQUIRETLS parameter: it takes no value'],
    ['<app@example.com> SIZE=100 size=200', '501 5.5.4 SIZE parameter given more than once'],
    ['<app@example.com> =x', '501 5.5.4 Syntax error in parameters: each must be KEYWORD or KEYWORD=value (RFC 5321 section 4.1.2)'],
    ['<jörg@example.com>', NON_ASCII],
    ['<app@bücher.example>', NON_ASCII],
    [`<${'l'.repeat(65)}@example.com>`, LOCAL_TOO_LONG],
    [`<${'l'.repeat(65)}@example.com> SMTPUTF8`, LOCAL_TOO_LONG],
    [`<app@${Array(5).fill('d'.repeat(63)).join('.')}>`, DOMAIN_TOO_LONG],
  ];

  test('MAIL FROM parameters and addresses are checked: 555 5.5.4 unknown, 501 5.5.4 malformed, 553 5.6.7 and 553 5.1.3 addresses', SLOW_OK, async () => {
    const dialog = await authenticated();
    for (const [rest, reply] of mailCases) assert.equal(await dialog.send(`MAIL FROM:${rest}`), reply, rest);
    // None of those began a transaction: a good MAIL FROM is not "nested".
    assert.equal(await dialog.send('MAIL FROM:<app@example.com> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=id+2B1 REQUIRETLS AUTH=<>'), MAIL_OK);
    assert.equal(await dialog.send('RSET'), RSET_OK);
    assert.equal(await dialog.send('MAIL FROM:<jörg@example.com> SMTPUTF8'), MAIL_OK);
    assert.equal(await dialog.send('RSET'), RSET_OK);
    assert.equal(await dialog.send(`MAIL FROM:<${'l'.repeat(64)}@example.com> body=7bit`), MAIL_OK);
  });

  const rcptCases: [string, string][] = [
    ['<customer@example.net> FOO', '555 5.5.4 RCPT TO parameter FOO not recognized or not implemented'],
    ['<customer@example.net> SIZE=10', '555 5.5.4 RCPT TO parameter SIZE not recognized or not implemented'], // a MAIL parameter
    [
      '<customer@example.net> NOTIFY=SOMETIMES',
      '501 5.5.4 Syntax error in NOTIFY parameter: it must be NEVER, or SUCCESS, FAILURE and DELAY separated by commas (RFC 3461 section 4.1)',
    ],
    [
      '<customer@example.net> NOTIFY=NEVER,SUCCESS',
      '501 5.5.4 Syntax error in NOTIFY parameter: it must be NEVER, or SUCCESS, FAILURE and DELAY separated by commas (RFC 3461 section 4.1)',
    ],
    [
      '<customer@example.net> ORCPT=customer@example.net',
      '501 5.5.4 Syntax error in ORCPT parameter: it must be addr-type;xtext, e.g. rfc822;user@example.com (RFC 3461 section 4.2)',
    ],
    ['<customer@example.net> NOTIFY=DELAY NOTIFY=DELAY', '501 5.5.4 NOTIFY parameter given more than once'],
    ['<kunde@bücher.example>', NON_ASCII],
    [`<${'l'.repeat(65)}@example.net>`, LOCAL_TOO_LONG],
    [`<customer@${Array(5).fill('d'.repeat(63)).join('.')}>`, DOMAIN_TOO_LONG],
  ];

  test('RCPT TO parameters and addresses are checked the same way, SMTPUTF8 taken from MAIL FROM', SLOW_OK, async () => {
    const dialog = await authenticated();
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), MAIL_OK);
    for (const [rest, reply] of rcptCases) assert.equal(await dialog.send(`RCPT TO:${rest}`), reply, rest);
    assert.equal(await dialog.send('RCPT TO:<customer@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;customer+40example.net'), RCPT_OK);
    assert.equal(await dialog.send('RCPT TO:<kunde@xn--bcher-kva.example>'), RCPT_OK, 'an A-label is ASCII');
    assert.equal(await dialog.send('RSET'), RSET_OK);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com> SMTPUTF8'), MAIL_OK);
    assert.equal(await dialog.send('RCPT TO:<kunde@bücher.example>'), RCPT_OK, 'with SMTPUTF8 on MAIL FROM');
  });
});
