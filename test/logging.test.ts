import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/app/logger.js';
import { formatLogLine, prettyDestination } from '../src/app/pretty-log.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 60_000 };

/** A logger writing into an array, one entry per line. */
function capture(format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger('info', sink, format), lines };
}

describe('the pretty log format', () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({ level: 30, time: Date.UTC(2025, 0, 2, 3, 4, 5, 678), pid: 1, hostname: 'h', service: 'relaygate', ...fields });

  // Each case: the JSON pino wrote, and the line a person reads.
  const cases: [string, string, string][] = [
    ['message only', line({ msg: 'relaygate started' }), '03:04:05.678 INFO  relaygate started\n'],
    [
      'fields in logged order, strings with spaces quoted, objects as JSON',
      line({ msg: 'message accepted', queueId: 'Q1', rcpt: 2, reply: '250 2.0.0 Ok', evidence: { policy: 'dane' } }),
      '03:04:05.678 INFO  message accepted queueId=Q1 rcpt=2 reply="250 2.0.0 Ok" evidence={"policy":"dane"}\n',
    ],
    ['level names', `${line({ msg: 'x' }).slice(0, -1)},"level":50}`, '03:04:05.678 ERROR x\n'],
    ['not JSON passes through', 'plain text', 'plain text\n'],
    [
      'an error stack indented below',
      line({ msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.ts:1:1)' } }),
      '03:04:05.678 INFO  failed\n    Error: boom\n        at f (a.ts:1:1)\n',
    ],
  ];
  for (const [name, json, expected] of cases) test(name, () => assert.equal(formatLogLine(json), expected));

  test('colour only when asked', () => {
    assert.equal(formatLogLine(line({ msg: 'x', level: 40 }), { colour: true }), '03:04:05.678 \x1b[33mWARN \x1b[0m x\n');
  });

  test('the destination formats each line of a chunk', () => {
    const out: string[] = [];
    prettyDestination({ write: (text: string) => out.push(text) }, { colour: false }).write(`${line({ msg: 'a' })}\n${line({ msg: 'b' })}\n`);
    assert.deepEqual(out, ['03:04:05.678 INFO  a\n', '03:04:05.678 INFO  b\n']);
  });

  test('createLogger in pretty format writes readable lines, not JSON', () => {
    const { log, lines } = capture('pretty');
    log.info({ queueId: 'Q9' }, 'hello');
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello queueId=Q9$/);
  });
});

describe('redaction', () => {
  test('secrets and bodies are censored wherever a log call puts them', () => {
    const { log, lines } = capture();
    log.info(
      {
        password: 'pw-top',
        secret: 'secret-top',
        auth: { pass: 'pw-auth', password: 'pw-auth2' },
        req: { headers: { authorization: 'Bearer tok-header', cookie: 'sid=cookie-value' } },
        target: { secrets: ['whsec-1'], token: 'tok-nested' },
        body: 'body-text',
        message: { raw: 'raw-text' },
        kept: 'visible',
      },
      'redaction',
    );
    const text = lines.join('\n');
    for (const secret of ['pw-top', 'secret-top', 'pw-auth', 'tok-header', 'cookie-value', 'whsec-1', 'tok-nested', 'body-text', 'raw-text'])
      assert.ok(!text.includes(secret), `${secret} was logged: ${text}`);
    assert.match(text, /"kept":"visible"/);
    assert.match(text, /\[redacted\]/);
  });
});

describe('the gateway log', () => {
  let sink: SmtpSink;
  let gw: TestGateway;

  before(async () => {
    sink = await startSmtpSink();
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none` });
  });

  after(async () => {
    await gw?.stop();
    await sink?.stop();
  });

  test('one line per SMTP transaction and per delivery attempt; no password, secret or body', SLOW_OK, async () => {
    const credential = await gw.createCredential('logging');
    const port = gw.gateway.ports.smtp;
    const bodyMarker = 'BODY-TEXT-Zq7wX3';
    const raw = (from: string) => `From: ${from}\r\nTo: ok@example.net\r\nSubject: log test\r\n\r\n${bodyMarker} must stay out of the log.\r\n`;
    const wrongPassword = 'wrong-password-Kp4r';
    await assert.rejects(
      submit(port, { ...credential, secret: wrongPassword }, { from: 'support@example.com', to: ['ok@example.net'], raw: raw('support@example.com') }),
      /535/,
    );
    const { queueId } = await submit(port, credential, { from: 'support@example.com', to: ['ok@example.net'], raw: raw('support@example.com') });
    await assert.rejects(submit(port, credential, { from: 'app@unverified.invalid', to: ['ok@example.net'], raw: raw('support@example.com') }), /550 5\.7\.1/);
    await assert.rejects(
      submit(port, credential, { from: 'support@example.com', to: ['ok@example.net'], raw: raw('other@unverified.invalid') }),
      /550 5\.7\.1/,
    );
    await sink.waitForMessages(1);
    const entries = () => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const attempt = await waitFor(() => entries().find((e) => e.msg === 'delivery attempt' && e.queueId === queueId), { what: 'the delivery attempt line' });
    assert.equal(attempt.rcpt, 'ok@example.net');
    assert.equal(attempt.status, 'delivered');
    assert.match(String(attempt.reply), /^250/);

    const transactions = entries().filter((e) => e.event === 'smtp.transaction');
    assert.deepEqual(
      transactions.map((e) => [e.outcome, e.stage ?? 'data']),
      [
        ['accepted', 'data'],
        ['refused', 'mail_from'],
        ['refused', 'data'],
      ],
    );
    assert.equal(new Set(transactions.map((e) => e.session)).size, 3, 'one line per session (each had one transaction)');
    const [accepted, , refusedAtData] = transactions as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.equal(accepted.queueId, queueId);
    for (const e of transactions) {
      assert.equal(e.ip, '127.0.0.1');
      assert.equal(typeof e.session, 'string');
      assert.equal(typeof e.credentialId, 'string');
    }
    for (const e of [accepted, refusedAtData]) {
      assert.equal(e.rcpt, 1);
      assert.ok(Number(e.sizeBytes) > bodyMarker.length, `size of the message in ${JSON.stringify(e)}`);
    }

    const text = gw.logs.join('\n');
    const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
    for (const secret of [
      credential.secret,
      wrongPassword,
      plain(credential.username, credential.secret),
      plain(credential.username, wrongPassword),
      bodyMarker,
    ])
      assert.ok(!text.includes(secret), `the log holds ${secret}`);
  });
});
