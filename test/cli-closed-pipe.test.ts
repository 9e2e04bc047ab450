import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { sqlQueueStore } from '../src/store/sql-queue-store.js';
import { gatewayEnv } from './support/gateway-process.js';
import { relaygateArgv } from './support/relaygate-command.js';
import { tempDir } from './support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Far more than a pipe holds (64 KiB on Linux): the CLI is still writing when the reader goes. */
const MESSAGES = 3000;

function shell(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('relaygate queue list | head -1 ends quietly with status 0 (pipefail): no EPIPE trace', { timeout: 180_000 }, async () => {
  const dir = await tempDir();
  try {
    const env = gatewayEnv(dir.path);
    const store = await openStore(loadConfig({ env }));
    try {
      const now = Date.now();
      await sqlQueueStore(store.db, store.syncCommitted).commit(
        Array.from({ length: MESSAGES }, (_, i) => ({
          id: `PIPE${String(i).padStart(6, '0')}`,
          envelope: { mailFrom: 'app@example.com', recipients: [{ address: `someone-${i}@example.net` }] },
          sizeBytes: 10,
          receivedAt: now,
          expiresAt: now + 86_400_000,
          credentialId: null,
          clientIp: '127.0.0.1',
          isDsn: false,
        })),
      );
    } finally {
      await store.close();
    }
    const cli = [process.execPath, ...relaygateArgv()].map((word) => `"${word}"`).join(' ');
    for (const command of [`queue list --all --limit ${MESSAGES}`, `queue list --all --limit ${MESSAGES} --json`]) {
      const result = await shell(`set -o pipefail; ${cli} ${command} | head -1`, env);
      assert.equal(result.stderr, '', `${command}: nothing on stderr`);
      assert.equal(result.code, 0, `${command}: status 0 with pipefail`);
      assert.match(result.stdout, command.endsWith('--json') ? /^\[\n$/ : /^ID\s+FROM\s+RECEIVED\s+RECIPIENT/);
    }
  } finally {
    await dir.cleanup();
  }
});
