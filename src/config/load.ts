import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as Yaml from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { ENV_KEYS, isConfigVariable } from './env.js';
import { ALLOWED, type Config, configSchema, DURATION_HINT } from './schema.js';

export interface ConfigSources {
  /** Path of the YAML file given with --config. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values set by command-line flags, as dotted keys; they win over everything. */
  overrides?: Record<string, unknown>;
}

/**
 * Reads the YAML file, then RELAYGATE_* variables over it, and validates the whole result
 * once, so that an operator sees every problem in one go (throws ConfigError).
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: ConfigProblem[] = [];
  const origin = new Map<string, string>();
  const input: Record<string, unknown> = {};

  if (sources.file) {
    const fromFile = readYamlFile(sources.file, problems);
    for (const [key, value] of flatten(fromFile)) {
      setPath(input, key, value);
      origin.set(key, `${sources.file}`);
    }
  }
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!isConfigVariable(name) || value === undefined) continue;
    const key = ENV_KEYS[name];
    if (!key) {
      problems.push({
        key: name,
        source: 'environment',
        problem: 'is not a Relaygate setting',
        fix: `remove it, or use one of ${Object.keys(ENV_KEYS).join(', ')}`,
      });
      continue;
    }
    setPath(input, key, value);
    origin.set(key, `environment variable ${name}`);
  }
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    setPath(input, key, value);
    origin.set(key, 'command line');
  }

  const result = configSchema.safeParse(input);
  if (!result.success) problems.push(...result.error.issues.flatMap((i) => describeIssue(i, input, origin)));
  if (result.success) problems.push(...crossChecks(result.data, origin));
  if (problems.length > 0) throw new ConfigError(problems);
  const config = (result as { data: Config }).data;
  return { ...config, dataDir: resolve(config.dataDir) };
}

function readYamlFile(path: string, problems: ConfigProblem[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push({
      key: '--config',
      source: 'command line',
      value: path,
      problem: `cannot be read (${(err as NodeJS.ErrnoException).code})`,
      fix: 'give the path of a readable YAML file',
    });
    return {};
  }
  try {
    // Required here, with a file to read, not imported at the top: yaml would cost every
    // command ~25 ms (its CommonJS build is what Node's import loads too: one instance).
    const { parse: parseYaml } = createRequire(import.meta.url)('yaml') as typeof Yaml;
    const parsed: unknown = parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    problems.push({
      key: '(file)',
      source: path,
      problem: 'is not a mapping of keys to values',
      fix: 'write the file as "key: value" lines, e.g. "smtp:\\n  port: 2587"',
    });
  } catch (err) {
    problems.push({
      key: '(file)',
      source: path,
      problem: `is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      fix: 'correct the YAML syntax at the line named',
    });
  }
  return {};
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, origin: Map<string, string>): ConfigProblem[] {
  const parent = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const key = parent ? `${parent}.${k}` : k;
      return {
        key,
        source: sourceOf(key, origin),
        problem: 'is not a Relaygate setting',
        fix: 'remove it or correct its spelling (see docs/configuration.md)',
      };
    });
  }
  const key = parent;
  const value = getPath(input, key);
  return [{ key, source: sourceOf(key, origin), value: redact(key, value), problem: problemText(issue), fix: `set ${key} to ${allowedFor(key)}` }];
}

function problemText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'invalid_type') return `must be a ${issue.expected}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map(String).join(', ')}`;
  return issue.message.replace(/^Invalid input: /, '').replace(/^Too (big|small): /, '');
}

function allowedFor(key: string): string {
  if (ALLOWED[key]) return ALLOWED[key];
  if (/timeout|expire|retry|lease|window|interval|retain/i.test(key)) return DURATION_HINT;
  return 'a valid value (see docs/configuration.md)';
}

function crossChecks(config: Config, origin: Map<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.role !== 'all' && !config.databaseUrl) {
    problems.push({
      key: 'role',
      source: sourceOf('role', origin),
      value: config.role,
      problem: 'runs one part of a gateway, but the parts can only share their queue through PostgreSQL, and no databaseUrl is set',
      fix: 'set RELAYGATE_DATABASE_URL=postgres://user:password@host:5432/db for every instance, or run role all on the embedded store',
    });
  }
  if (Boolean(config.tls.certFile) !== Boolean(config.tls.keyFile)) {
    const missing = config.tls.certFile ? 'tls.keyFile' : 'tls.certFile';
    problems.push({
      key: missing,
      source: 'configuration',
      problem: 'is missing while its pair is set',
      fix: 'set both tls.certFile and tls.keyFile (RELAYGATE_TLS_CERT, RELAYGATE_TLS_KEY), or neither to use a generated development certificate',
    });
  }
  if (config.queue.retryInitial > config.queue.retryMax) {
    problems.push({
      key: 'queue.retryInitial',
      source: 'configuration',
      value: config.queue.retryInitial,
      problem: 'is longer than queue.retryMax',
      fix: 'make queue.retryInitial at most queue.retryMax',
    });
  }
  return problems;
}

function sourceOf(key: string, origin: Map<string, string>): string {
  return origin.get(key) ?? 'default';
}

function redact(key: string, value: unknown): unknown {
  if (key === 'masterKey' || key === 'previousMasterKeys' || key === 'credentialHashKey' || key === 'auditKey') return '***';
  if (key === 'databaseUrl' && typeof value === 'string') return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  if (key === 'smarthost' && typeof value === 'string') return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return value;
}

function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, key) : [[key, v] as [string, unknown]];
  });
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function getPath(source: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), source);
}
