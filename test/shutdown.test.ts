import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { openDialog } from './support/smtp-dialog.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

function connectable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// SIGTERM: stop accepting, let the transaction in progress finish, tell idle sessions 421,
// exit cleanly, and leave the queue as it was for the next start.
test('SIGTERM lets a message in transfer finish, refuses new work, and keeps the queue', async () => {
  const dir = await tempDir('relaygate-term-');
  const env = gatewayEnv(dir.path, { RELAYGATE_LOG_LEVEL: 'warn', RELAYGATE_SHUTDOWN_TIMEOUT: '20s' });
  let gateway: GatewayProcess | undefined;
  try {
    await verifyTestDomainsIn(env);
    const created = await runCli(['credential', 'create', '--description', 'shutdown', '--json'], env);
    const credential = JSON.parse(created.stdout) as { username: string; secret: string };
    gateway = await spawnGateway(env);
    const { smtp } = gateway.ports;

    const { dialog: busy } = await openDialog(smtp);
    await busy.ehlo('app.example.com');
    await busy.startTls();
    await busy.ehlo('app.example.com');
    assert.match(await busy.authPlain(credential.username, credential.secret), /^235 /);
    assert.match(await busy.send('MAIL FROM:<app@example.com>'), /^250 /);
    assert.match(await busy.send('RCPT TO:<customer@example.net>'), /^250 /);
    assert.match(await busy.send('DATA'), /^354 /);
    busy.write('From: app@example.com\r\nSubject: in flight\r\n\r\nfirst half\r\n');

    const { dialog: idle } = await openDialog(smtp);
    await idle.ehlo('idle.example.com');

    gateway.child.kill('SIGTERM');
    assert.equal(await idle.read(), '421 4.3.2 Service shutting down, try again later');
    await idle.closed();
    await waitFor(async () => !(await connectable(smtp)), { what: 'the listener to close' });

    busy.write('second half\r\n.\r\n');
    const accepted = await busy.read();
    assert.match(accepted, /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/);
    const queueId = /queued as (\S+)/.exec(accepted)?.[1] ?? '';
    assert.equal(await busy.send('MAIL FROM:<app@example.com>'), '421 4.3.2 Service shutting down, try again later');
    assert.equal(await gateway.exited, 0);

    const listed = await runCli(['queue', 'show', queueId, '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const message = JSON.parse(listed.stdout) as { recipients: { address: string; status: string }[] };
    assert.deepEqual(
      message.recipients.map((r) => r.address),
      ['customer@example.net'],
    );
    assert.ok(['queued', 'deferred'].includes(message.recipients[0]?.status ?? ''));
  } finally {
    gateway?.child.kill('SIGKILL');
    await dir.cleanup();
  }
});
