import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { applicationMessage, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { TEST_ENGINE } from './support/test-database.js';

/** The development certificate is public (it is sent to every TLS client): the one file others may read. */
const PUBLIC_FILES = new Set(['tls/dev-cert.pem']);

function modesUnder(dir: string): { path: string; kind: 'dir' | 'file'; mode: number }[] {
  const found: { path: string; kind: 'dir' | 'file'; mode: number }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory() || entry.isFile())
      found.push({ path: relative(dir, path), kind: entry.isDirectory() ? 'dir' : 'file', mode: statSync(path).mode & 0o777 });
  }
  return found;
}

const octal = (mode: number) => `0${mode.toString(8)}`;

describe('data directory file modes', () => {
  for (const umask of ['000', '022']) {
    test(`under umask ${umask} the database, its -wal and -shm, keys, spool files and directories are owner-only`, async () => {
      const dir = await tempDir();
      let gateway: GatewayProcess | undefined;
      try {
        // No smarthost: the message submitted below waits in the spool, where its file can be seen.
        const env = gatewayEnv(dir.path, { RELAYGATE_LOG_LEVEL: 'warn' });
        // The gateway is the first to touch the data directory, so it creates every file under this umask.
        gateway = await spawnGateway(env, { umask });
        await verifyTestDomainsIn(env);
        const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'modes', '--json'], env);
        assert.equal(created.code, 0, created.stderr);
        const credential = JSON.parse(created.stdout) as { username: string; secret: string };
        await submit(gateway.ports.smtp, credential, { from: 'app@example.com', to: ['someone@example.net'], raw: applicationMessage('modes') });

        const modes = modesUnder(dir.path);
        const files = new Set(modes.map((m) => m.path));
        const expected = ['keys/master.key', 'keys/credential-hash.key', 'tls/dev-key.pem', 'instance-id', 'listeners.json'];
        if (TEST_ENGINE === 'sqlite') expected.push('relaygate.db', 'relaygate.db-wal', 'relaygate.db-shm');
        for (const path of expected) assert.ok(files.has(path), `${path} exists (found ${[...files].join(', ')})`);
        if (TEST_ENGINE === 'sqlite')
          assert.ok(
            modes.some((m) => m.path.startsWith('spool/') && m.kind === 'file'),
            'a body is in the spool',
          );

        const open = modes.filter((m) => !PUBLIC_FILES.has(m.path) && m.mode !== (m.kind === 'dir' ? 0o700 : 0o600));
        assert.deepEqual(
          open.map((m) => `${m.path} ${octal(m.mode)}`),
          [],
          'every directory is 0700 and every file 0600',
        );
      } finally {
        gateway?.child.kill('SIGTERM');
        await gateway?.exited;
        await dir.cleanup();
      }
    });
  }
});
