/**
 * deploy/: what can be checked without Docker or systemd as PID 1. The Dockerfile is parsed
 * into its stages and instructions; its HEALTHCHECK command runs against a live gateway;
 * the systemd unit is read for its hardening and, where the tool exists, passed through
 * `systemd-analyze verify`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENV_KEYS, loadConfig } from '../src/config/index.js';
import { parseDurationMs } from '../src/lib/durations.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const DATA_DIR = '/var/lib/relaygate';

// ---------------------------------------------------------------------------------------
// Dockerfile

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile syntax as BuildKit reads it: comments, `\` continuations, one instruction per logical line. */
function parseDockerfile(text: string): { preamble: Instruction[]; stages: Stage[] } {
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i] as string;
    if (/^\s*(#.*)?$/.test(logical)) continue;
    while (logical.endsWith('\\')) {
      logical = logical.slice(0, -1);
      i++;
      assert.ok(i < lines.length, `Dockerfile line ${start}: a continuation runs past the end of the file`);
      const next = lines[i] as string;
      if (/^\s*#/.test(next)) continue;
      logical += ` ${next.trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(logical);
    assert.ok(match, `Dockerfile line ${start}: not an instruction: ${logical}`);
    const keyword = (match[1] as string).toUpperCase();
    assert.ok(INSTRUCTIONS.has(keyword), `Dockerfile line ${start}: unknown instruction ${keyword}`);
    const instruction = { line: start, keyword, args: (match[2] as string).trim() };
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(from, `Dockerfile line ${start}: FROM <image> [AS <name>]`);
      stages.push({ name: from[2], instructions: [instruction] });
    } else if (stages.length === 0) {
      assert.equal(keyword, 'ARG', `Dockerfile line ${start}: only ARG may come before the first FROM`);
      preamble.push(instruction);
    } else {
      (stages.at(-1) as Stage).instructions.push(instruction);
    }
  }
  return { preamble, stages };
}

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function one(stage: Stage, keyword: string): Instruction {
  const found = all(stage, keyword);
  assert.equal(found.length, 1, `the ${stage.name} stage has one ${keyword}`);
  return found[0] as Instruction;
}

/** The JSON array of an exec-form instruction (`CMD ["a", "b"]`). */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `exec form: ${args}`);
  return parsed as string[];
}

/** `ENV A=1 B=2` pairs (values without spaces, as in our file). */
function envPairs(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of all(stage, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `ENV in KEY=value form: ${pair}`);
      env.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return env;
}

describe('deploy/Dockerfile', () => {
  const { preamble, stages } = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
  const build = stages.find((s) => s.name === 'build') as Stage;
  const runtime = stages.at(-1) as Stage;

  test('two stages: build with the development dependencies, runtime from the same Node image', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['build', 'runtime'],
    );
    assert.match(preamble.map((i) => i.args).join('\n'), /^NODE_IMAGE=node:24-/m);
    for (const stage of stages) assert.match((stage.instructions[0] as Instruction).args, /^\$\{NODE_IMAGE\} AS /);
    const buildRuns = all(build, 'RUN')
      .map((i) => i.args)
      .join('\n');
    assert.match(buildRuns, /npm install [^\n]*--no-audit/);
    assert.match(buildRuns, /npm run build/);
    assert.match(buildRuns, /npm prune --omit=dev/);
    // Every path the build copies from the context exists in the repository.
    for (const { args, line } of all(build, 'COPY')) {
      const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) assert.ok(existsSync(join(ROOT, source)), `line ${line}: ${source} exists`);
    }
  });

  test('the runtime stage holds the build output and production node_modules, and nothing from the context', () => {
    const copies = all(runtime, 'COPY');
    assert.ok(copies.length > 0);
    for (const { args, line } of copies) assert.match(args, /^--from=build\s/, `line ${line} copies from the build stage`);
    const copied = copies.map((c) => c.args.split(/\s+/)[1]);
    assert.deepEqual(copied.sort(), ['/build/bin', '/build/dist', '/build/node_modules', '/build/package.json']);
    assert.equal(
      all(runtime, 'RUN').some((r) => /\bnpm\b/.test(r.args)),
      false,
      'no npm run in the runtime stage',
    );
  });

  test('a non-root user, the data directory as the only volume, exposed ports, SIGTERM', () => {
    const user = one(runtime, 'USER').args;
    assert.doesNotMatch(user, /^(0|root)(:|$)/);
    assert.match(user, /^\d+:\d+$/, 'a numeric uid:gid, so runAsNonRoot can check it');
    const userRun = all(runtime, 'RUN').find((r) => r.args.includes('useradd'));
    assert.ok(userRun, 'the user is created in the image');
    assert.match(userRun.args, new RegExp(`--uid ${user.split(':')[0]}\\b`));
    assert.match(userRun.args, new RegExp(`chown relaygate:relaygate ${DATA_DIR}`));
    assert.equal(one(runtime, 'VOLUME').args, DATA_DIR);
    assert.equal(one(runtime, 'STOPSIGNAL').args, 'SIGTERM');
    const env = envPairs(runtime);
    assert.equal(env.get('RELAYGATE_DATA_DIR'), DATA_DIR);
    assert.equal(env.get('NODE_ENV'), 'production');
    for (const name of env.keys()) if (name.startsWith('RELAYGATE_')) assert.ok(name in ENV_KEYS, `${name} is a configuration variable`);
    const exposed = one(runtime, 'EXPOSE').args.split(/\s+/).map(Number).sort();
    assert.deepEqual(
      exposed,
      [env.get('RELAYGATE_SMTPS_PORT'), env.get('RELAYGATE_SMTP_PORT'), env.get('RELAYGATE_SMTP_RELAY_PORT'), env.get('RELAYGATE_HTTP_PORT')]
        .map(Number)
        .sort(),
    );
    for (const port of exposed) assert.ok(port >= 1024, `${port} needs no capability inside the container`);
    assert.deepEqual(execForm(one(runtime, 'ENTRYPOINT').args), ['node', '/opt/relaygate/bin/relaygate.js']);
    assert.deepEqual(execForm(one(runtime, 'CMD').args), ['start']);
  });

  describe('HEALTHCHECK', () => {
    const instruction = one(runtime, 'HEALTHCHECK').args;
    const command = execForm(instruction.replace(/^(--\S+\s+)*CMD\s+/, ''));
    let gw: TestGateway;

    before(async () => {
      gw = await startTestGateway();
    });
    after(() => gw?.stop());

    function runHealthcheck(port: number): Promise<number | null> {
      assert.equal(command[0], 'node');
      const child = spawn(process.execPath, command.slice(1), { env: { ...process.env, RELAYGATE_HTTP_PORT: String(port) }, stdio: 'ignore' });
      return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      });
    }

    test('is timed and hits /healthz on the configured HTTP port', () => {
      assert.match(instruction, /--interval=\d+s/);
      assert.match(instruction, /--timeout=\d+s/);
      assert.match(instruction, /--start-period=\d+s/);
      assert.match(command.join(' '), /\/healthz/);
    });

    test('exits 0 against a running gateway', async () => {
      assert.equal(await runHealthcheck(gw.gateway.ports.http), 0);
    });

    test('exits 1 when nothing listens', async () => {
      const server = createServer();
      const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
      await new Promise((resolve) => server.close(resolve));
      assert.equal(await runHealthcheck(port), 1);
    });
  });
});

// ---------------------------------------------------------------------------------------
// systemd unit

/** `[Section]` → key → values, in order (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
      return;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `relaygate.service line ${index + 1}: Key=value inside a section`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  });
  return sections;
}

describe('deploy/relaygate.service', () => {
  const unit = parseUnit(readFileSync(join(DEPLOY, 'relaygate.service'), 'utf8'));
  const service = unit.get('Service') as Map<string, string[]>;
  const value = (key: string) => {
    const values = service.get(key);
    assert.ok(values, `[Service] sets ${key}`);
    return values.at(-1) as string;
  };

  test('runs as its own user with the hardening that fits', () => {
    assert.equal(value('User'), 'relaygate');
    const expected: Record<string, string> = {
      ProtectSystem: 'strict',
      ReadWritePaths: DATA_DIR,
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      NoNewPrivileges: 'yes',
      ProtectHome: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes',
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      SystemCallFilter: '@system-service',
      Restart: 'on-failure',
      RestartPreventExitStatus: '73 78',
      KillSignal: 'SIGTERM',
    };
    for (const [key, want] of Object.entries(expected)) assert.equal(value(key), want, key);
    // V8's JIT maps W+X pages: MemoryDenyWriteExecute=yes would kill Node at start.
    assert.equal(service.has('MemoryDenyWriteExecute'), false);
  });

  test('takes its settings from an environment file of known variables, and its data directory from the state directory', () => {
    assert.equal(value('EnvironmentFile'), '/etc/relaygate/relaygate.env');
    assert.equal(value('StateDirectory'), 'relaygate');
    assert.match(value('Environment'), new RegExp(`RELAYGATE_DATA_DIR=${DATA_DIR}(\\s|$)`));
    assert.match(value('ExecStart'), /\/bin\/relaygate\.js start$/);
    const example = readFileSync(join(DEPLOY, 'relaygate.env.example'), 'utf8');
    const names = [...example.matchAll(/^#?\s*(RELAYGATE_[A-Z0-9_]+)=/gm)].map((m) => m[1] as string);
    assert.ok(names.length > 5);
    for (const name of names) assert.ok(name in ENV_KEYS, `${name} in relaygate.env.example is a configuration variable`);
  });

  test('waits longer than the gateway shutdown timeout before SIGKILL', () => {
    const stopMs = parseDurationMs(value('TimeoutStopSec')) ?? Number.NaN;
    const shutdownMs = loadConfig({ env: {}, overrides: {} }).shutdownTimeout;
    assert.ok(stopMs > shutdownMs + 5_000, `TimeoutStopSec (${stopMs} ms) leaves the ${shutdownMs} ms shutdown time to finish`);
  });

  // A CI machine has systemd, so systemd-analyze is a peer like the others (test/support/peers.ts).
  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
  test('systemd-analyze verify accepts it', needsPeer(analyze.error ? 'systemd-analyze is not installed here (apt-get install systemd)' : undefined), () => {
    const result = spawnSync('systemd-analyze', ['verify', join(DEPLOY, 'relaygate.service')], { encoding: 'utf8' });
    // A missing /usr/bin/node is the one complaint that belongs to the machine, not the unit.
    const problems = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/\/usr\/bin\/node/.test(l));
    assert.deepEqual(problems, []);
    if (existsSync('/usr/bin/node')) assert.equal(result.status, 0, result.stderr);
  });
});
