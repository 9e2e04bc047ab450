/**
 * The operator documentation checked against the code it describes: every `relaygate …` line
 * in a shell block is a command the CLI accepts with the options shown, every RELAYGATE_*
 * variable is one the configuration reads, every relative link resolves, every path
 * ARCHITECTURE.md names exists, and the Postfix settings the guide shows are the ones the
 * Postfix interop harness runs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { buildProgram } from '../src/cli/index.js';
import { ENV_KEYS } from '../src/config/env.js';
import { SmtpReply } from '../src/model/smtp-reply.js';
import { mainCf } from './support/postfix.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GUIDES = join(ROOT, 'docs', 'guides');

/** Every document an operator or a newcomer to the code reads, as paths relative to the repository. */
function documents(): string[] {
  const guides = readdirSync(GUIDES)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', 'guides', name));
  return ['README.md', 'ARCHITECTURE.md', 'deploy/README.md', 'docs/configuration.md', ...guides];
}

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Block {
  lang: string;
  body: string;
}

function fencedBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```([\w.-]*)\n([\s\S]*?)^```/gm)].map((m) => ({ lang: m[1] ?? '', body: m[2] ?? '' }));
}

/**
 * The `relaygate` invocations of a shell block, as argument lists: continuation lines joined,
 * comments dropped, split at `&&`, `;`, pipes and command substitutions, redirections cut,
 * `[optional]` brackets taken off.
 */
function invocations(script: string): string[][] {
  const found: string[][] = [];
  for (const line of script.replace(/\\\n\s*/g, ' ').split('\n')) {
    for (const segment of segments(line)) {
      const words = shellWords(segment);
      const at = commandPosition(words);
      const program = words[at] ?? '';
      if (!(program === 'relaygate' || program.endsWith('/relaygate') || program.endsWith('/relaygate.js'))) continue;
      const args: string[] = [];
      for (const word of words.slice(at + 1)) {
        if (/^\d?[<>]/.test(word)) break;
        const bare = word.replace(/^\[+/, '').replace(/\]+$/, '');
        if (bare !== '' && bare !== '…' && bare !== '...') args.push(bare);
      }
      found.push(args);
    }
  }
  return found;
}

/** Splits a line at unquoted `&&`, `||`, `;`, `|`, `$(`, `(` and `)`, dropping an unquoted `#` comment. */
function segments(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quote) {
      if (c === quote) quote = null;
      current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      break;
    } else if (';|()&'.includes(c) || (c === '$' && line[i + 1] === '(')) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out.filter((s) => s.trim() !== '');
}

/** Where the command word is, past `VAR=value` assignments and wrappers: npx, sudo, node, runuser -u USER --, docker exec NAME. */
function commandPosition(words: string[]): number {
  let i = 0;
  while (i < words.length) {
    const word = words[i] ?? '';
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || ['npx', 'sudo', 'exec', 'env', 'node', '--'].includes(word)) i += 1;
    else if (word === 'runuser' && words[i + 1] === '-u') i += 3;
    else if (word === 'docker' && words[i + 1] === 'exec') i += 3;
    else break;
  }
  return i;
}

function shellWords(segment: string): string[] {
  return [...segment.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** A word that stands for a value the reader fills in: QUEUE_ID, ADDRESS, <id>. */
const isPlaceholder = (word: string) => /^[A-Z][A-Z0-9_]*$/.test(word) || /^<.*>$/.test(word);

/** Why the CLI would refuse `relaygate <args>`, or undefined when it takes it. */
function invocationProblem(program: Command, args: string[]): string | undefined {
  let command = program;
  let i = 0;
  for (; i < args.length; i++) {
    const sub = command.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i] ?? ''));
    if (!sub) break;
    command = sub;
  }
  if (command === program) return args[0] === '--help' || args[0] === '-h' ? undefined : `no command "${args[0] ?? ''}"`;
  if (command.commands.length > 0) return i < args.length ? `"${command.name()}" has no subcommand "${args[i]}"` : `"${command.name()}" needs a subcommand`;
  const options: readonly Option[] = [...command.options, ...program.options];
  const positional: string[] = [];
  const given = new Set<Option>();
  for (let j = i; j < args.length; j++) {
    const word = args[j] ?? '';
    if (word === '--help' || word === '-h') return undefined;
    if (!word.startsWith('-') || word === '-') {
      positional.push(word);
      continue;
    }
    const [flag = '', inline] = word.split(/=(.*)/s);
    const option = options.find((o) => o.long === flag || o.short === flag || (o.negate && o.long === flag));
    if (!option) return `${command.name()} has no option ${flag}`;
    given.add(option);
    if (!option.required && !option.optional) continue;
    const value = inline ?? args[++j];
    if (value === undefined && option.required) return `${flag} needs a value`;
    if (value !== undefined && option.argChoices && !isPlaceholder(value) && !option.argChoices.includes(value))
      return `${flag} takes ${option.argChoices.join(', ')}, not "${value}"`;
  }
  const missing = command.options.filter((o) => o.mandatory && o.defaultValue === undefined && !given.has(o));
  if (missing.length > 0) return `missing ${missing.map((o) => o.long).join(', ')}`;
  const declared = command.registeredArguments;
  const min = declared.filter((a) => a.required).length;
  const max = declared.some((a) => a.variadic) ? Number.POSITIVE_INFINITY : declared.length;
  if (positional.length < min || positional.length > max)
    return `takes ${min === max ? min : `${min} to ${max}`} argument(s) (${declared.map((a) => a.name()).join(', ') || 'none'}), given ${positional.length}: ${positional.join(' ')}`;
  for (const [n, arg] of declared.entries()) {
    const value = positional[n];
    if (value !== undefined && arg.argChoices && !isPlaceholder(value) && !arg.argChoices.includes(value))
      return `${arg.name()} takes ${arg.argChoices.join(', ')}, not "${value}"`;
  }
  return undefined;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

describe('the command lines in the documentation', () => {
  const program = buildProgram();

  test('the checker refuses what the CLI refuses', () => {
    const problem = (line: string) => invocationProblem(program, invocations(line)[0] ?? []);
    assert.equal(problem('npx relaygate domain add example.com'), undefined);
    assert.equal(problem('printf %s "$S" | relaygate connection add --domain example.com --host mail.example.com --secret-stdin'), undefined);
    assert.match(problem('relaygate domian add example.com') ?? '', /no command "domian"/);
    assert.match(problem('relaygate domain claim example.com') ?? '', /no subcommand "claim"/);
    assert.match(problem('relaygate domain add') ?? '', /argument/);
    assert.match(problem('relaygate queue list --everything') ?? '', /no option --everything/);
    assert.match(problem('relaygate credential create --kind outbound --description x') ?? '', /--kind takes submission, inbound/);
    assert.match(problem('relaygate credential retire cred_0123') ?? '', /missing --at/);
    assert.deepEqual(invocations('relaygate secure revoke ID [--recipient ADDR]   # one recipient'), [['secure', 'revoke', 'ID', '--recipient', 'ADDR']]);
    assert.deepEqual(invocations('relaygate audit export > audit.jsonl && relaygate \\\n  audit verify'), [
      ['audit', 'export'],
      ['audit', 'verify'],
    ]);
    assert.deepEqual(invocations('useradd --home-dir /var/lib/relaygate relaygate; docker run relaygate'), []);
    assert.deepEqual(invocations('RELAYGATE_X=1 runuser -u relaygate -- /opt/relaygate/node_modules/.bin/relaygate domain list'), [['domain', 'list']]);
  });

  test('every example in the --help of a command is a command the CLI takes', () => {
    const walk = (command: Command): Command[] => [command, ...command.commands.flatMap(walk)];
    const problems = walk(program).flatMap((command) => {
      const written: string[] = [];
      command.configureOutput({ writeOut: (s) => written.push(s), writeErr: (s) => written.push(s) });
      command.outputHelp();
      const help = written.join('');
      const examples = help.slice(help.search(/\bExamples?\b[^\n]*:\n/) >>> 0);
      return invocations(examples).flatMap((args) => {
        const problem = invocationProblem(program, args);
        return problem ? [`${command.name()} --help: relaygate ${args.join(' ')}: ${problem}`] : [];
      });
    });
    assert.deepEqual(problems, []);
  });

  for (const doc of documents()) {
    test(`${doc}: every relaygate command in a shell block exists and takes the options shown`, () => {
      const problems = fencedBlocks(read(doc))
        .filter((b) => SHELL.has(b.lang))
        .flatMap((b) => invocations(b.body))
        .flatMap((args) => {
          const problem = invocationProblem(program, args);
          return problem ? [`relaygate ${args.join(' ')}: ${problem}`] : [];
        });
      assert.deepEqual(problems, []);
    });
  }

  // The synopsis lists verbs as `a|b|c`: each alternative must be a subcommand.
  test('README.md: every verb of the command-line synopsis exists', () => {
    const synopsis = /## Command line[\s\S]*?```text\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
    const lines = synopsis.split('\n').filter((line) => line.startsWith('relaygate '));
    assert.ok(lines.length > 20, 'the README has its synopsis block');
    const problems: string[] = [];
    for (const line of lines) {
      const [, verb = '', subs = ''] = /^relaygate (\S+)(?: ([a-z][a-z|-]*)(?=\s|$))?/.exec(line) ?? [];
      const group = program.commands.find((c) => c.name() === verb);
      if (!group) {
        problems.push(`${line}: no command "${verb}"`);
        continue;
      }
      if (group.commands.length === 0) continue;
      for (const sub of subs.split('|').filter(Boolean))
        if (!group.commands.some((c) => c.name() === sub)) problems.push(`${line}: "${verb}" has no subcommand "${sub}"`);
    }
    assert.deepEqual(problems, []);
  });

  test('every subcommand is named in the README synopsis', () => {
    const synopsis = /## Command line[\s\S]*?```text\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
    const missing = program.commands.flatMap((group) => {
      const named = synopsis
        .split('\n')
        .filter((line) => line.startsWith(`relaygate ${group.name()}`))
        .join(' ');
      if (!named) return [group.name()];
      return group.commands.filter((sub) => !new RegExp(`[ |]${sub.name()}(?=[ |]|$)`, 'm').test(named)).map((sub) => `${group.name()} ${sub.name()}`);
    });
    assert.deepEqual(missing, []);
  });
});

/** Variables of the test harness, not of the gateway, that the development docs name. */
const HARNESS_VARIABLES = new Set(['RELAYGATE_DNSSEC_LAB']);

describe('the rest of what the documentation names', () => {
  test('every RELAYGATE_* variable named in the documentation is one the configuration reads', () => {
    const unknown = documents().flatMap((doc) =>
      [...read(doc).matchAll(/\bRELAYGATE_[A-Z0-9_]+/g)]
        .map((m) => m[0])
        .filter((name) => !(name in ENV_KEYS) && !name.startsWith('RELAYGATE_TEST_') && !HARNESS_VARIABLES.has(name))
        .map((name) => `${doc}: ${name}`),
    );
    assert.deepEqual([...new Set(unknown)], []);
  });

  test('every relative link resolves to a file, and an #anchor to a heading in it', () => {
    const broken: string[] = [];
    for (const doc of documents()) {
      for (const m of read(doc).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? join(ROOT, doc) : join(ROOT, dirname(doc), path);
        if (!existsSync(file)) {
          broken.push(`${doc}: ${target} (no ${relative(ROOT, file)})`);
          continue;
        }
        if (anchor && file.endsWith('.md') && !headingSlugs(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });

  // The map is followed file by file: a path that moved, or a folder without its line, sends a newcomer nowhere.
  test('ARCHITECTURE.md: every path it names exists, and every folder of src/ has its line', () => {
    const map = read('ARCHITECTURE.md');
    const named = [...map.matchAll(/`((?:src|test|scripts)\/[^`\s*]+)`/g)].map((m) => m[1] ?? '');
    assert.ok(named.length > 50, 'the map names the files of its walks');
    assert.deepEqual(
      named.filter((path) => !existsSync(join(ROOT, path))),
      [],
    );
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `src/${entry.name}`);
    assert.deepEqual(
      folders.filter((folder) => !map.includes(`| \`${folder}\` |`)),
      [],
    );
  });

  test('README.md links every guide in docs/guides/', () => {
    const readme = read('README.md');
    const unlinked = readdirSync(GUIDES)
      .filter((name) => name.endsWith('.md'))
      .filter((name) => !readme.includes(`](docs/guides/${name})`));
    assert.deepEqual(unlinked, []);
  });

  test('README.md keeps the two-command quick start', () => {
    const readme = read('README.md');
    assert.match(readme, /^npm install && npm start\b/m);
    assert.match(readme, /^npm install && npm test\b/m);
  });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
function headingSlugs(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set(
    [...withoutCode.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      (m[1] ?? '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

describe('docs/guides/postfix-inbound-relay.md', () => {
  const guide = read('docs/guides/postfix-inbound-relay.md');
  const shown = new Map(
    (/```main\.cf\n([\s\S]*?)```/.exec(guide)?.[1] ?? '')
      .split('\n')
      .filter((line) => line.includes(' = '))
      .map((line) => line.split(' = ') as [string, string]),
  );
  const dir = '/tmp/postfix-instance';
  const running = mainCf(
    { dir, configDir: `${dir}/etc`, queueDir: `${dir}/spool`, dataDir: `${dir}/data`, maillogFile: `${dir}/maillog` },
    { relayHost: '127.0.0.1', relayPort: 2587, username: 'inb_user', password: 'secret', caCertPem: '', dir },
    { caFile: `${dir}/etc/gateway-ca.pem`, passwordFile: `${dir}/etc/sasl_passwd` },
  );
  // The harness's own plumbing and test pacing, not something an operator sets for the relay.
  const HARNESS_ONLY = new Set(['smtp_dns_support_level', 'smtp_tls_loglevel', 'smtp_sasl_auth_soft_bounce', 'smtp_connect_timeout']);

  test('each main.cf line the guide shows is what the Postfix harness runs (<placeholders> for this machine)', () => {
    assert.ok(shown.size >= 8, 'the guide has its main.cf block');
    for (const [name, value] of shown) {
      const pattern = new RegExp(
        `^${value
          .split(/<[^>]+>/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.+')}$`,
      );
      assert.ok(name in running, `${name}: the harness does not set it`);
      assert.match(running[name] ?? '', pattern, `${name}: the guide says "${value}", the harness runs "${running[name]}"`);
    }
  });

  test('every relay setting the harness runs (relayhost, smtp_tls_*, smtp_sasl_*) is in the guide', () => {
    const relaySettings = Object.keys(running).filter((name) => (name === 'relayhost' || name.startsWith('smtp_')) && !HARNESS_ONLY.has(name));
    assert.deepEqual(
      relaySettings.filter((name) => !shown.has(name)),
      [],
    );
  });
});

describe('docs/guides/helpdesk-connector.md, the disconnect', () => {
  test('the replies it quotes during and after a drain are the ones the gateway sends (README agrees on the codes)', () => {
    const guide = readFileSync(join(ROOT, 'docs/guides/helpdesk-connector.md'), 'utf8').replace(/\s*\n\s*/g, ' ');
    const replies = [
      SmtpReply.senderNotAllowed('support@example.com', 'domain-disconnected'),
      SmtpReply.domainDisconnecting('example.com'),
      SmtpReply.domainDisconnected('example.com'),
    ].map((reply) => reply.toString());
    for (const reply of replies) assert.ok(guide.includes(`\`${reply}\``), `the guide quotes: ${reply}`);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s*\n\s*/g, ' ');
    assert.match(readme, /new outbound mail from the domain is refused \(`550 5\.7\.1`\) and new inbound mail for it deferred \(`450 4\.7\.1`\)/);
  });
});
