import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import PostalMime from 'postal-mime';
import { readReceiptMail } from '../src/portal/reply-mail.js';
import { composeMail } from '../src/secure/compose.js';
import type { SecureMeta } from '../src/secure/vault.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { PortalClient } from './support/portal-client.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 60_000 };
const NOW = Date.UTC(2026, 2, 13, 9, 30);

/** The body parts of a multipart/report, split on its boundary: each part's headers (lower-cased) and its body. */
function reportParts(raw: string): { headers: string; body: string }[] {
  const boundary = /^Content-Type: multipart\/report;[\s\S]*?boundary="?([^"\r\n;]+)"?/im.exec(raw)?.[1];
  assert.ok(boundary, `no multipart/report boundary in:\n${raw}`);
  const [, ...parts] = raw.split(`--${boundary}`);
  return parts
    .filter((p) => !p.startsWith('--'))
    .map((p) => {
      const split = p.indexOf('\r\n\r\n');
      return { headers: p.slice(2, split).toLowerCase(), body: p.slice(split + 4) };
    });
}

/** The fields of a disposition-notification part (RFC 8098 §3.1), by lower-cased name. */
function fields(body: string): Map<string, string> {
  return new Map(
    body
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
}

const meta: SecureMeta = {
  subject: 'Befund vom 13. März',
  messageId: '<befund.13@secure.example.com>',
  fromName: 'Care Team',
  fromAddress: SECURE_SENDER,
};

describe('read receipts as RFC 8098 message disposition notifications', () => {
  test('the report: multipart/report for dispositions, a text part in the language, the machine part with the recipient, the original id and "displayed"', async () => {
    const raw = (
      await readReceiptMail({ meta, recipient: 'patient@example.net', sender: SECURE_SENDER, hostname: 'gw.example', now: NOW, locale: 'de', format: 'mdn' })
    ).toString('utf8');
    assert.ok(!/[^\r]\n/.test(raw), 'every line ends CRLF');
    assert.match(raw, /^Content-Type: multipart\/report; report-type=disposition-notification;/m);
    assert.match(raw, /^In-Reply-To: <befund\.13@secure\.example\.com>\r$/m);
    assert.match(raw, /^Content-Language: de\r$/m);
    const [text, report, ...rest] = reportParts(raw);
    assert.equal(rest.length, 0, 'two parts');
    assert.match(text?.headers ?? '', /^content-type: text\/plain; charset=utf-8/m);
    assert.match(report?.headers ?? '', /^content-type: message\/disposition-notification\r?$/m);
    assert.match(report?.headers ?? '', /^content-transfer-encoding: 7bit\r?$/m);
    const f = fields(report?.body ?? '');
    assert.equal(f.get('reporting-ua'), 'gw.example; Relaygate');
    assert.equal(f.get('original-recipient'), 'rfc822;patient@example.net');
    assert.equal(f.get('final-recipient'), 'rfc822;patient@example.net');
    assert.equal(f.get('original-message-id'), '<befund.13@secure.example.com>');
    assert.equal(f.get('disposition'), 'manual-action/MDN-sent-automatically; displayed');

    // A parser for people sees the same words as the text receipt, in German.
    const parsed = await PostalMime.parse(raw);
    const plain = await PostalMime.parse(
      await readReceiptMail({ meta, recipient: 'patient@example.net', sender: SECURE_SENDER, hostname: 'gw.example', now: NOW, locale: 'de' }),
    );
    assert.equal(parsed.subject, plain.subject);
    assert.equal(parsed.text?.trim(), plain.text?.trim());
    assert.match(plain.text ?? '', /patient@example\.net/);
  });

  test('an internationalised recipient is reported with the utf-8 address type in a global part (RFC 6533)', async () => {
    const raw = (
      await readReceiptMail({ meta, recipient: 'pätient@example.net', sender: SECURE_SENDER, hostname: 'gw.example', now: NOW, locale: 'en', format: 'mdn' })
    ).toString('utf8');
    const report = reportParts(raw)[1];
    assert.match(report?.headers ?? '', /^content-type: message\/global-disposition-notification\r?$/m);
    assert.equal(fields(report?.body ?? '').get('final-recipient'), 'utf-8;pätient@example.net');
  });
});

describe('the organisation chooses the format; the application receives the MDN', () => {
  let lab: PortalLab;
  before(async () => {
    lab = await startPortalLab();
  });
  after(async () => {
    await lab?.stop();
  });

  test('--read-receipt-format mdn: the first view sends the sender an MDN through the webhook, with an empty envelope sender', SLOW_OK, async () => {
    const settings = await runCli(['secure', 'settings', '--read-receipts', 'on', '--read-receipt-format', 'mdn'], gatewayEnv(lab.gw.dataDir));
    assert.equal(settings.code, 0, settings.stderr);
    assert.match(settings.stdout, /^read receipts: +on \(RFC 8098 MDN\)$/m);

    const raw = await composeMail({ ...plainMail(), subject: 'Results of 14 March', messageId: '<results.14@secure.example.com>' });
    const links = await lab.sendSecure(raw, ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    await client.signIn(lab, 'patient@example.net');
    assert.equal((await client.page()).status, 200);

    const receipt = await waitFor(() => lab.hook.requests.find((r) => r.payload.subject === 'Read: Results of 14 March'), { what: 'the MDN at the webhook' });
    assert.equal(receipt.payload.envelope.mailFrom, '', 'an MDN goes with a null reverse path (RFC 8098 §2.1)');
    assert.deepEqual(receipt.payload.envelope.recipients, [SECURE_SENDER]);
    const stored = await (await fetch(receipt.payload.rawUrl)).text();
    const report = reportParts(stored.replace(/\r?\n/g, '\r\n'))[1];
    const f = fields(report?.body ?? '');
    assert.equal(f.get('final-recipient'), 'rfc822;patient@example.net');
    assert.equal(f.get('original-message-id'), '<results.14@secure.example.com>');
    assert.equal(f.get('disposition'), 'manual-action/MDN-sent-automatically; displayed');

    // And back to text: the next receipt is the plain mail again.
    assert.equal((await runCli(['secure', 'settings', '--read-receipt-format', 'text'], gatewayEnv(lab.gw.dataDir))).code, 0);
    const second = await lab.sendSecure(await composeMail({ ...plainMail(), subject: 'Results of 15 March' }), ['patient@example.net']);
    const again = new PortalClient(second.get('patient@example.net') ?? '');
    await again.signIn(lab, 'patient@example.net');
    await again.page();
    const text = await waitFor(() => lab.hook.requests.find((r) => r.payload.subject === 'Read: Results of 15 March'), { what: 'the text receipt' });
    assert.doesNotMatch(await (await fetch(text.payload.rawUrl)).text(), /multipart\/report/);
  });
});

function plainMail() {
  return {
    from: { name: 'Care Team', address: SECURE_SENDER },
    to: 'patient@example.net',
    subject: 'Results',
    text: 'Your lab results: glucose 5.4 mmol/l\n',
    messageId: '<results@secure.example.com>',
    date: new Date(NOW),
  };
}
