/**
 * A credential revoked while its session is open (issue 18, point 6): a relay's next
 * transaction gets 421 4.7.0 and the connection closes, so the organisation's server keeps
 * the customer's mail queued; a submission credential keeps its 550 5.7.1. Real sockets and
 * TLS against an in-process gateway; revoked as `relaygate credential revoke` does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';

const SLOW_OK = { timeout: 60_000 };
type Credential = Awaited<ReturnType<TestGateway['createCredential']>>;

const WITHDRAWN = '421 4.7.0 The authenticated credential is no longer valid, closing connection; try again later';
const QUEUED = /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/;

async function authenticated(gw: TestGateway, credential: Credential): Promise<SmtpDialog> {
  const { dialog } = await openDialog(gw.gateway.ports.smtp);
  await dialog.ehlo('mail.example.com');
  await dialog.startTls();
  await dialog.ehlo('mail.example.com');
  assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
  return dialog;
}

async function transaction(dialog: SmtpDialog, from: string, to: string): Promise<string> {
  assert.equal(await dialog.send(`MAIL FROM:<${from}>`), '250 2.1.0 Accepted');
  assert.equal(await dialog.send(`RCPT TO:<${to}>`), '250 2.1.5 Accepted');
  assert.equal(await dialog.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  dialog.write(`From: <${from}>\r\nTo: <${to}>\r\nSubject: before the revocation\r\n\r\nHello.\r\n`);
  return dialog.send('.');
}

describe('a credential revoked mid-session', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ smarthost: 'smtp://127.0.0.1:9?tls=none' });
    await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
  });
  after(() => gw.stop());

  test('an inbound (relay) credential: the next MAIL FROM gets 421 4.7.0 and the connection closes', SLOW_OK, async () => {
    const relay = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
    const dialog = await authenticated(gw, relay);
    assert.match(await transaction(dialog, 'customer@customer.example', 'support@example.com'), QUEUED);
    await gw.revokeCredential(relay.id);
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), WITHDRAWN);
    await dialog.closed();
  });

  test('a submission credential: the next MAIL FROM keeps its 550 5.7.1', SLOW_OK, async () => {
    const application = await gw.createCredential('helpdesk');
    const dialog = await authenticated(gw, application);
    try {
      assert.match(await transaction(dialog, 'app@example.com', 'customer@example.net'), QUEUED);
      await gw.revokeCredential(application.id);
      assert.equal(
        await dialog.send('MAIL FROM:<app@example.com>'),
        '550 5.7.1 Submission not allowed: the credential has been revoked, has expired or was retired',
      );
    } finally {
      dialog.close();
    }
  });
});
