/**
 * README's five-minute walk-through, run as written: its shell block is read from README.md
 * and each command runs in bash in the checkout, with Debian's swaks. Only what must differ on
 * a test machine differs: the data directory, ephemeral ports (the one port the text names is
 * replaced by the one in use) and a local DNS server, all through RELAYGATE_* variables; the
 * placeholders USER, SECRET, QUEUE_ID and SANDBOX_ID are filled in from what the commands
 * before printed, as a reader would.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { needsPeer } from './support/peers.js';
import { ROOT } from './support/relaygate-command.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);

// The walk-through's swaks line uses --tls, for which swaks needs Net::SSLeay (only a Recommends of Debian's package).
const swaks = (() => {
  try {
    const support = execFileSync('swaks', ['--support'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /^=== TLS supported/m.test(support) ? undefined : 'swaks has no TLS (apt-get install libnet-ssleay-perl)';
  } catch {
    return 'swaks is not installed (apt-get install swaks)';
  }
})();

/** The commands of the walk-through's shell block: comments dropped, continued lines joined. */
function walkthroughCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Five-minute walk-through'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no shell block under "## Five-minute walk-through"');
  const commands: string[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    const text = line.trim();
    if (pending === '' && (text === '' || text.startsWith('#'))) continue;
    if (text.endsWith('\\')) {
      pending += `${text.slice(0, -1).trim()} `;
      continue;
    }
    commands.push(`${pending}${text}`);
    pending = '';
  }
  return commands;
}

describe("README's five-minute walk-through, as written", needsPeer(swaks), () => {
  let dir: TempDir;
  let dns: TestDnsServer;
  let gateway: ChildProcess | undefined;
  let output = '';
  const env: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = await tempDir('relaygate-walkthrough-');
    // Every name the gateway looks up gets an answer from here, never from the machine's resolver.
    dns = await startDnsServer({});
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RELAYGATE_')) env[key] = value;
    Object.assign(env, {
      RELAYGATE_DATA_DIR: join(dir.path, 'data'),
      RELAYGATE_SMTP_PORT: '0',
      RELAYGATE_SMTPS_PORT: '0',
      RELAYGATE_SMTP_RELAY_PORT: '0',
      RELAYGATE_HTTP_PORT: '0',
      RELAYGATE_DNS_RESOLVER: dns.address,
      NO_COLOR: '1',
    });
  });

  after(async () => {
    if (gateway?.pid && gateway.exitCode === null) {
      const exited = new Promise((resolve) => gateway?.once('exit', resolve));
      process.kill(-gateway.pid, 'SIGTERM');
      await exited;
    }
    await dns?.stop();
    await dir?.cleanup();
  });

  test('every command runs, and prints what the comments beside it promise', { timeout: 300_000 }, async () => {
    const commands = walkthroughCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.equal(commands[0], 'npm start', 'the walk-through starts the gateway first');
    // npm start runs until stopped: in a process group of its own, so that npm's children stop with it.
    gateway = spawn('bash', ['-c', commands[0] as string], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    gateway.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const banner = await waitFor(() => (/Then see what would have been sent/.test(output) ? output : undefined), {
      what: 'the start banner of npm start',
      timeoutMs: 120_000,
    });
    assert.match(banner, /SANDBOX MODE: NOTHING LEAVES THIS MACHINE/);
    const smtpPort = /SMTP submission \(STARTTLS\)\s+127\.0\.0\.1:(\d+)/.exec(banner)?.[1];
    assert.ok(smtpPort, banner);

    const filled: Record<string, string> = {};
    const outputs: string[] = [];
    for (const written of commands.slice(1)) {
      const command = written.replace('127.0.0.1:2587', `127.0.0.1:${smtpPort}`).replace(/\b(USER|SECRET|QUEUE_ID|SANDBOX_ID)\b/g, (name) => {
        const value = filled[name];
        assert.ok(value, `${name} in "${written}" was printed by no command before it`);
        return value;
      });
      if (written.startsWith('npx relaygate queue list')) await delivered(filled.QUEUE_ID as string);
      const result = await run('bash', ['-c', command], { cwd: ROOT, env, timeout: 120_000 }).catch(
        (err: { code?: number; stdout?: string; stderr?: string }) => {
          assert.fail(`"${written}" exited ${err.code}:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
        },
      );
      outputs.push(result.stdout);
      fillFrom(written, result.stdout, filled);
    }
    const [, , credential, sent, list, show, sandboxList, sandboxShow, raw] = outputs;
    assert.match(credential ?? '', /username: /);
    assert.match(sent ?? '', /250 2\.0\.0 Ok: queued as \S+/, 'swaks ends with "250 2.0.0 Ok: queued as QUEUE_ID"');
    assert.match(list ?? '', new RegExp(filled.QUEUE_ID as string));
    assert.match(show ?? '', /delivered/);
    assert.match(show ?? '', /250 2\.0\.0 captured in the sandbox as sbx_\w+; nothing was sent/);
    assert.match(sandboxList ?? '', /someone@example\.net/);
    assert.match(sandboxShow ?? '', /app@example\.test/);
    assert.match(raw ?? '', /^X-Relaygate-Sandbox: captured \S+; nothing was sent/, 'the message as the next hop would get it, marked');
    assert.match(raw ?? '', /\r\nFrom: app@example\.test\r\n/);
  });

  async function delivered(queueId: string): Promise<void> {
    await waitFor(
      async () => {
        const { stdout } = await run('bash', ['-c', `npx relaygate queue show ${queueId}`], { cwd: ROOT, env, timeout: 60_000 });
        return /captured in the sandbox/.test(stdout) ? true : undefined;
      },
      { what: `${queueId} captured in the sandbox`, timeoutMs: 60_000, intervalMs: 500 },
    );
  }
});

function fillFrom(command: string, stdout: string, filled: Record<string, string>): void {
  const take = (name: string, pattern: RegExp) => {
    const value = pattern.exec(stdout)?.[1];
    assert.ok(value, `"${command}" printed no ${name}:\n${stdout}`);
    filled[name] = value;
  };
  if (command.startsWith('npx relaygate credential create')) {
    take('USER', /username: (\S+)/);
    take('SECRET', /secret: +(\S+)/);
  }
  if (command.startsWith('swaks')) take('QUEUE_ID', /queued as (\S+)/);
  if (command.startsWith('npx relaygate sandbox list')) take('SANDBOX_ID', /\b(sbx_\w+)/);
}
