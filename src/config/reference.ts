import { z } from 'zod';
import { DESCRIPTIONS, DYNAMIC_DEFAULTS } from './descriptions.js';
import { ENV_KEYS } from './env.js';
import { configSchema } from './schema.js';

type JsonSchema = {
  type?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  format?: string;
  description?: string;
};

export interface ConfigKey {
  key: string;
  env: string | undefined;
  type: string;
  default: string;
  description: string | undefined;
}

const LARGEST_SAFE = Number.MAX_SAFE_INTEGER;

/** Every leaf key of the configuration schema, in schema order. */
export function configKeys(): ConfigKey[] {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const envOf = new Map(Object.entries(ENV_KEYS).map(([env, key]) => [key, env]));
  const keys: ConfigKey[] = [];
  const walk = (node: JsonSchema, path: string[]) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const key = [...path, name].join('.');
      if (child.type === 'object' && child.properties) walk(child, [...path, name]);
      else keys.push({ key, env: envOf.get(key), type: typeOf(child), default: defaultOf(key, child), description: DESCRIPTIONS[key] });
    }
  };
  walk(schema, []);
  return keys;
}

function typeOf(node: JsonSchema): string {
  const kinds = node.anyOf?.map((n) => n.type) ?? [];
  if (kinds.includes('boolean')) return 'boolean';
  if (kinds.includes('integer') && node.anyOf?.some((n) => n.description === 'size')) return 'size (bytes, or kB, MB, GB, TB, PB, KiB … PiB)';
  if (kinds.includes('integer') && kinds.includes('string')) return 'duration (ms, s, m, h, d)';
  if (kinds.includes('array')) return 'list (comma-separated in the environment)';
  if (node.enum) return `one of ${node.enum.join(', ')}`;
  if (node.type === 'integer') {
    const max = node.maximum !== undefined && node.maximum < LARGEST_SAFE ? `–${node.maximum}` : ' or more';
    return `integer ${node.minimum ?? 0}${max}`;
  }
  return node.format === 'uri' ? 'URL' : (node.type ?? 'string');
}

function defaultOf(key: string, node: JsonSchema): string {
  const dynamic = DYNAMIC_DEFAULTS[key];
  if (dynamic) return dynamic;
  if (node.default === undefined) return '(unset)';
  return typeof node.default === 'string' ? `\`${node.default}\`` : `\`${JSON.stringify(node.default)}\``;
}

/** docs/configuration.md, generated: `npm run docs` writes it, a test fails when it is stale. */
export function configReferenceMarkdown(): string {
  const rows = configKeys().map((k) => `| \`${k.key}\` | ${k.env ? `\`${k.env}\`` : '—'} | ${k.type} | ${k.default} | ${k.description ?? ''} |`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Set keys in the YAML file given with `--config` (nested: `smtp:` then `port:`) or with the',
    'environment variable; the environment wins. Everything is checked at start; a problem names the',
    'key, where the value came from and the fix, and the process exits with status 78.',
    '',
    '| key | environment variable | type | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
