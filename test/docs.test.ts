import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { openApiDocument } from '../src/api/openapi-document.js';
import { configKeys, configReferenceMarkdown } from '../src/config/reference.js';

const STALE = 'is out of date: run `npm run docs` and commit the result';

test('docs/configuration.md is the reference generated from the configuration schema', async () => {
  assert.equal(await readFile(new URL('../docs/configuration.md', import.meta.url), 'utf8'), configReferenceMarkdown(), `docs/configuration.md ${STALE}`);
});

test('every configuration key has a meaning and an environment variable', () => {
  const keys = configKeys();
  assert.deepEqual(
    keys.filter((k) => !k.description).map((k) => k.key),
    [],
    'describe these keys in src/config/descriptions.ts',
  );
  assert.deepEqual(
    keys.filter((k) => !k.env).map((k) => k.key),
    [],
    'map these keys to a RELAYGATE_* variable in src/config/env.ts',
  );
});

test('docs/openapi.json is the OpenAPI document the gateway serves', async () => {
  const committed = JSON.parse(await readFile(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
  assert.deepEqual(committed, JSON.parse(JSON.stringify(await openApiDocument())), `docs/openapi.json ${STALE}`);
});
