/**
 * The per-user-name AUTH lock cannot be turned against the application it protects (issue
 * 19, point 5): failures from outside a credential's allowed networks do not lock it for
 * clients inside them, and an address that authenticated recently is not locked by failures
 * from others (NIST SP 800-63B §5.2.2). Real sockets from several loopback addresses
 * (127.0.0.1 is the application, 127.0.0.2 and up are others) against gateways with a
 * per-user limit of 3, so that only the per-user lock is under test.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';

const SLOW_OK = { timeout: 60_000 };
const AUTH_OK = '235 2.7.0 Authentication successful';
const AUTH_FAILED = '535 5.7.8 Authentication credentials invalid';
const LOCKED = '454 4.7.0 Too many failed authentication attempts, try again later';

const dialogs = new Set<SmtpDialog>();
afterEach(() => {
  for (const dialog of dialogs) dialog.close();
  dialogs.clear();
});

async function gateway(): Promise<TestGateway> {
  return startTestGateway({ 'smtp.authFailuresPerIp': 1000, 'smtp.authFailuresPerUser': 3, shutdownTimeout: '2s' });
}

/** Connected from `localAddress`, TLS up, not authenticated. */
async function from(tg: TestGateway, localAddress: string): Promise<SmtpDialog> {
  const { dialog, greeting } = await openDialog(tg.gateway.ports.smtp, { localAddress });
  dialogs.add(dialog);
  assert.equal(greeting, '220 gateway.test ESMTP');
  await dialog.ehlo('app.example.com');
  await dialog.startTls();
  await dialog.ehlo('app.example.com');
  return dialog;
}

async function guess(tg: TestGateway, localAddress: string, username: string, times: number): Promise<void> {
  const dialog = await from(tg, localAddress);
  for (let i = 1; i <= times; i++) assert.equal(await dialog.authPlain(username, `wrong-${i}`), AUTH_FAILED, `guess ${i} from ${localAddress}`);
  assert.equal(await dialog.authPlain(username, 'wrong-again'), LOCKED, `from ${localAddress} once the limit is reached`);
}

describe('the per-user-name AUTH lock', () => {
  test('failures from outside a credential’s allowed networks do not lock it for a client inside them', SLOW_OK, async () => {
    const tg = await gateway();
    try {
      const app = await tg.createCredential('production app', { allowedNetworks: ['127.0.0.1/32'] });
      await guess(tg, '127.0.0.2', app.username, 3);
      // The application has never authenticated before: only the network keeps it in.
      assert.equal(await (await from(tg, '127.0.0.1')).authPlain(app.username, app.secret), AUTH_OK);
      // Outside, the lock holds for every address, even with the right secret.
      assert.equal(await (await from(tg, '127.0.0.3')).authPlain(app.username, app.secret), LOCKED);
    } finally {
      await tg.stop();
    }
  });

  test('an address that authenticated recently is not locked by failures from other addresses', SLOW_OK, async () => {
    const tg = await gateway();
    try {
      const app = await tg.createCredential('production app');
      assert.equal(await (await from(tg, '127.0.0.1')).authPlain(app.username, app.secret), AUTH_OK);
      await guess(tg, '127.0.0.2', app.username, 3);
      assert.equal(await (await from(tg, '127.0.0.1')).authPlain(app.username, app.secret), AUTH_OK, 'the known source');
      // An address that never authenticated as it meets the lock, right secret or not.
      assert.equal(await (await from(tg, '127.0.0.3')).authPlain(app.username, app.secret), LOCKED);
    } finally {
      await tg.stop();
    }
  });

  // NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts per account.
  test('the default per-user limit is 100 failures in the window, and a known source is remembered for 24 hours', () => {
    const { smtp } = loadConfig({ env: {}, overrides: { dataDir: '/nonexistent' } });
    assert.equal(smtp.authFailuresPerUser, 100);
    assert.equal(smtp.authFailureWindow, 15 * 60_000);
    assert.equal(smtp.authKnownSourceWindow, 24 * 3_600_000);
    assert.equal(smtp.tlsHandshakeTimeout, 10_000);
  });
});
