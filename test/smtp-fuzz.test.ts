/**
 * Fuzzing the SMTP command path (issue 9) over real sockets: fast-check generates sessions
 * of command lines (MAIL FROM / RCPT TO with random addresses and ESMTP parameters, every
 * verb, random junk, NUL, bare CR, very long lines) and raw byte streams with bare CR/LF,
 * and sends them to one in-process gateway. Whatever arrives, every reply must be a
 * well-formed SMTP reply with an enhanced status code where RFC 2034 calls for one, the
 * session must stay usable or be closed cleanly after a 221/421, and the gateway must never
 * crash or leave a promise rejection unhandled. A failure prints fast-check's seed and the
 * shrunk session (replay: RELAYGATE_PROPERTY_SEED, see test/support/property-runs.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { runs } from './support/property-runs.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { submit } from './support/submit.js';

const REPLY_LINE = /^([2-5]\d\d)([- ])(.*)$/;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3}) /;
/** smtp-server's replies to HELO and EHLO, success and syntax errors. */
const HELO_REPLY = /^250[ -]gateway\.test |^501 Error: (Syntax: HELO hostname|syntax: EHLO hostname|Bad hostname syntax)$/;
/** RFC 2034 §3: no enhanced code on the greeting and the HELO/EHLO replies; 3xx are intermediate. */
const WITHOUT_ENHANCED = new Set(['HELO', 'EHLO', 'LHLO']);

/**
 * Checks one whole reply (lines joined with \n, as SmtpDialog reads them): every line has the
 * same 3-digit code, '-' on all but the last, and the text starts with one enhanced status
 * code whose class repeats the basic code's first digit.
 */
function assertWellFormed(reply: string, command: string | null): number {
  const lines = reply.split('\n');
  const codes = lines.map((line, i) => {
    const match = REPLY_LINE.exec(line);
    assert.ok(match, `malformed reply line ${JSON.stringify(line)} to ${JSON.stringify(command)}`);
    assert.equal(match[2], i === lines.length - 1 ? ' ' : '-', `continuation marks in ${JSON.stringify(reply)}`);
    return match[1];
  });
  assert.ok(
    codes.every((c) => c === codes[0]),
    `one code per reply: ${JSON.stringify(reply)}`,
  );
  const code = Number(codes[0]);
  const verb = command?.split(' ')[0]?.toUpperCase() ?? '';
  if (command !== null && code >= 200 && !(code >= 300 && code < 400) && !WITHOUT_ENHANCED.has(verb)) {
    const text = REPLY_LINE.exec(lines[0] as string)?.[3] ?? '';
    const enhanced = ENHANCED.exec(`${text} `);
    assert.ok(enhanced, `no enhanced status code in ${JSON.stringify(reply)} to ${JSON.stringify(command)}`);
    assert.equal(enhanced[1], String(code)[0], `enhanced class differs from the basic code: ${JSON.stringify(reply)}`);
    assert.ok(!ENHANCED.test(text.slice(enhanced[0].length)), `two enhanced codes in ${JSON.stringify(reply)}`);
  }
  return code;
}

// --- generators ------------------------------------------------------------------------

const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: fc.constantFrom('A', 'a', ' ', ':', '<', '>', '@', '=', '\0', '\r', '\t', '.', '"', '\\', 'é'), maxLength: 60 }),
);
const address = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('app@example.com', 'APP@Example.COM', 'customer@example.net', 'postmaster', '', '@', 'a@[127.0.0.1]', '"a b"@example.com'),
  },
  { weight: 3, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: junk },
);
const esmtpParam = fc.oneof(
  fc
    .tuple(fc.constantFrom('SIZE', 'size'), fc.oneof(fc.nat().map(String), fc.constantFrom('-1', '99999999999999999999', '', 'x', '1e3')))
    .map(([k, v]) => `${k}=${v}`),
  fc.constantFrom(
    'BODY=8BITMIME',
    'BODY=7BIT',
    'BODY=BINARYMIME',
    'BODY=',
    'SMTPUTF8',
    'REQUIRETLS',
    'RET=FULL',
    'RET=HDRS',
    'RET=x',
    'AUTH=<>',
    'NOTIFY=NEVER',
  ),
  fc.constantFrom('NOTIFY=SUCCESS,FAILURE', 'NOTIFY=NEVER,DELAY', 'NOTIFY=', 'ORCPT=rfc822;a@example.net', 'ORCPT=junk', 'ENVID=abc+2Bdef', 'ENVID='),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/), fc.option(fc.stringMatching(/^[!-~]{0,20}$/))).map(([k, v]) => (v === null ? k : `${k}=${v}`)),
);
const params = fc.array(esmtpParam, { maxLength: 4 }).map((ps) => ps.map((p) => ` ${p}`).join(''));
const bracketed = fc
  .tuple(address, fc.constantFrom('<>', '<', '>', '', ' <>'))
  .map(([a, wrap]) => (wrap === '<>' ? `<${a}>` : wrap === ' <>' ? ` <${a}>` : `${wrap}${a}`));

/** One command line, no CR LF in it (bare CR and NUL may be). */
const commandLine = fc
  .oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('MAIL FROM:', 'mail from:', 'MAIL FROM: ', 'MAIL FROM'), bracketed, params).map((p) => p.join('')) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('RCPT TO:', 'rcpt to:', 'RCPT TO: ', 'RCPT TO'), bracketed, params).map((p) => p.join('')) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'DATA',
        'RSET',
        'NOOP',
        'NOOP x',
        'HELP',
        'VRFY a@example.com',
        'EXPN list',
        'EHLO',
        'HELO',
        'EHLO fuzz.example',
        'HELO fuzz',
        'BDAT 10 LAST',
        'ETRN',
        'TURN',
        'XCLIENT ADDR=1.2.3.4',
        'XFORWARD NAME=x',
        'STARTTLS',
        'AUTH',
        'AUTH CRAM-MD5',
        'QUIT',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('AUTH PLAIN ', 'AUTH LOGIN ', 'AUTH XOAUTH2 ', 'EHLO ', 'HELO ', 'VRFY '), junk).map((p) => p.join('')) },
    { weight: 3, arbitrary: junk },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('MAIL FROM:<', 'NOOP ', 'X'), fc.integer({ min: 900, max: 20_000 })).map(([p, n]) => `${p}${'a'.repeat(n)}>`),
    },
  )
  .map((line) => line.replace(/\n/g, ''));

/** A message body for when DATA gets 354: mostly proper, sometimes what DataGuard refuses. */
const dataBody = fc
  .array(
    fc.oneof(
      fc.stringMatching(/^[ -~]{0,40}$/),
      fc.constantFrom('From: app@example.com', 'From: someone@else.example', '', '.', '..x', 'a\nb', 'a\rb', 'nul\0here'),
    ),
    {
      maxLength: 8,
    },
  )
  // Dot-stuffed (RFC 5321 §4.5.2), so only the client's own '.' ends the data.
  .map((lines) => lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join(''));

// --- sessions --------------------------------------------------------------------------

describe('SMTP command path under fuzzing', () => {
  let tg: TestGateway;
  let credential: { username: string; secret: string };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    tg = await startTestGateway({
      'smtp.maxMessageBytes': 4096,
      'smtp.maxRecipients': 3,
      // Random AUTH lines fail authentication; throttling would only make later sessions 454.
      'smtp.authFailuresPerIp': 1_000_000,
      'smtp.authFailuresPerUser': 1_000_000,
      // Bounds a session left waiting (an AUTH continuation, a half line) to seconds.
      'smtp.idleTimeout': '5s',
      'smtp.commandTimeout': '5s',
      shutdownTimeout: '2s',
    });
    credential = await tg.createCredential('fuzz');
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await tg?.stop();
  });

  async function open(mode: 'plain' | 'tls' | 'authenticated'): Promise<SmtpDialog> {
    const { dialog, greeting } = await openDialog(tg.gateway.ports.smtp);
    assertWellFormed(greeting, null);
    if (mode === 'plain') return dialog;
    await dialog.ehlo('fuzz.example');
    await dialog.startTls();
    assertWellFormed(await dialog.ehlo('fuzz.example'), 'EHLO');
    if (mode === 'authenticated') assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
    return dialog;
  }

  /** Sends each line and checks its reply; a 354 gets `body` and the end-of-data mark. */
  async function play(dialog: SmtpDialog, lines: string[], body: string): Promise<'open' | 'closed'> {
    let last = 0;
    for (const line of lines) {
      if (line.toUpperCase() === 'STARTTLS' && !dialog.tlsSocket) continue; // an upgrade is not what is fuzzed here
      last = assertWellFormed(await dialog.send(line), line);
      if (last === 221 || last === 421) {
        await dialog.closed();
        return 'closed';
      }
      if (last === 354) {
        dialog.write(body);
        last = assertWellFormed(await dialog.send('.'), '.');
      }
    }
    // A session waiting for an AUTH continuation is released with '*' (RFC 4954 §4).
    if (last === 334 && assertWellFormed(await dialog.send('*'), '*') === 421) {
      await dialog.closed();
      return 'closed';
    }
    // Usable, or at a limit (10 unauthenticated commands) and told so with 421 before the close.
    const probe = await dialog.send('NOOP');
    if (probe.startsWith('421 ')) {
      assertWellFormed(probe, 'NOOP');
      await dialog.closed();
      return 'closed';
    }
    assert.equal(probe, '250 2.0.0 OK', 'the session is still usable');
    return 'open';
  }

  // Whole transactions mixed in, so that DATA is reached (and DataGuard answers) often.
  const transaction = fc
    .tuple(params, params)
    .map(([mailParams, rcptParams]) => ['MAIL FROM:<app@example.com>' + mailParams, 'RCPT TO:<customer@example.net>' + rcptParams, 'DATA']);
  const sessions = fc.record({
    lines: fc
      .array(fc.oneof({ weight: 6, arbitrary: commandLine.map((l) => [l]) }, { weight: 1, arbitrary: transaction }), { minLength: 1, maxLength: 10 })
      .map((ls) => ls.flat()),
    body: dataBody,
  });

  for (const [mode, numRuns] of [
    ['plain', 150],
    ['tls', 100],
    ['authenticated', 120],
  ] as const) {
    test(`${mode} sessions: every command line gets one well-formed reply; the session stays usable or is closed cleanly`, { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(sessions, async ({ lines, body }) => {
          const dialog = await open(mode);
          try {
            await play(dialog, lines, body);
          } finally {
            dialog.close();
          }
        }),
        runs(numRuns),
      );
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    });
  }

  // Raw bytes, not lines: bare CR and LF anywhere, NUL, pipelined commands. The count of
  // replies then depends on how the parser splits lines, so instead the stream ends with
  // QUIT and every reply until the close is checked; a session the junk left waiting (an
  // AUTH continuation swallowing QUIT) is ended by the 5 s budget with a 421.
  test('raw byte streams with bare CR/LF and NUL: only well-formed replies, then a clean close', { timeout: 120_000 }, async () => {
    const stream = fc
      .array(fc.oneof(commandLine, fc.constantFrom('\r', '\n', '\r\n', '\0', '\n.\n', 'RSET\n', 'NOOP\r\r\n')), { minLength: 1, maxLength: 16 })
      .map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(stream, fc.boolean(), async (bytes, authenticated) => {
        const dialog = await open(authenticated ? 'authenticated' : 'tls');
        try {
          dialog.write(`${bytes}\r\nQUIT\r\n`);
          for (;;) {
            let reply: string;
            try {
              reply = await dialog.read();
            } catch {
              break; // closed
            }
            // The command a reply answers is not known here, so replies to HELO/EHLO (which
            // carry no enhanced code, RFC 2034 §3) are told apart by their text.
            assertWellFormed(reply, HELO_REPLY.test(reply) ? 'EHLO' : '?');
          }
        } finally {
          dialog.close();
        }
      }),
      runs(60),
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  test('after all of it the gateway still accepts mail', async () => {
    const { response } = await submit(tg.gateway.ports.smtp, credential, {
      from: 'app@example.com',
      to: ['customer@example.net'],
      raw: 'From: app@example.com\r\nSubject: after fuzzing\r\n\r\nstill here\r\n',
    });
    assert.match(response, /^250 2\.0\.0 Ok: queued as /);
    assert.deepEqual(unhandled, []);
  });
});
