/**
 * The admin API, SCIM, the inbound downloads, the portal and the console are imported and
 * built at the first request to one of their paths (src/http/lazy-surfaces.ts), not at the
 * start: they held 25 MB of an idle gateway's RSS. What the gateway process loads is read
 * from a module hook that logs each module the ESM loader loads, as test/cli-startup.test.ts
 * does for the CLI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { SURFACE_PREFIXES } from '../src/app/http-mounts.js';
import { covers, lazySurfaces } from '../src/http/lazy-surfaces.js';
import { startHttp } from '../src/http/server.js';
import { gatewayEnv, spawnGateway } from './support/gateway-process.js';
import { tempDir } from './support/temp-dir.js';

/** Modules of the surfaces, by the end of their path (compiled or source) or their package. */
const SURFACE_MODULES = [
  /\/api\/index\.(js|ts)$/,
  /\/scim\/routes\.(js|ts)$/,
  /\/portal\/index\.(js|ts)$/,
  /\/console\/index\.(js|ts)$/,
  /\/node_modules\/@fastify\/swagger\//,
  /\/node_modules\/typebox\//,
];

function recorder(log: string): string {
  const hooks = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return `--import=data:text/javascript,${encodeURIComponent(register)}`;
}

const loadedSurfaces = (log: string) => {
  const modules = readFileSync(log, 'utf8').split('\n');
  return SURFACE_MODULES.filter((pattern) => modules.some((url) => pattern.test(url))).map(String);
};

test('a started gateway has loaded none of the surfaces until the first request to one, then all of them, and the page is whole', {
  timeout: 180_000,
}, async () => {
  const dir = await tempDir('relaygate-lazy-surfaces-');
  const log = join(dir.path, 'modules.log');
  const env = { ...gatewayEnv(join(dir.path, 'data')), NODE_OPTIONS: [process.env.NODE_OPTIONS, recorder(log)].filter(Boolean).join(' ') };
  const gateway = await spawnGateway(env);
  try {
    const base = `http://127.0.0.1:${gateway.ports.http}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.deepEqual(loadedSurfaces(log), [], 'loaded at the start');

    const page = await fetch(`${base}/console/sign-in`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.deepEqual(loadedSurfaces(log), SURFACE_MODULES.map(String), 'loaded after the first console request');
    const api = await fetch(`${base}/api/v1/domains`);
    assert.deepEqual(
      [api.status, api.headers.get('content-type'), api.headers.get('cache-control')],
      [401, 'application/problem+json; charset=utf-8', 'no-store'],
    );
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await dir.cleanup();
  }
});

test('the surfaces: built once for concurrent first requests, bodies and client addresses as the outer server has them, other paths untouched', async () => {
  let loads = 0;
  const mount = lazySurfaces({
    prefixes: ['/s', '/s/*'],
    trustedProxies: ['127.0.0.1'],
    async load() {
      loads++;
      return [(app) => void app.post('/s/echo', async (request) => ({ body: request.body, ip: request.ip }))];
    },
  });
  const { app, port } = await startHttp('127.0.0.1', 0, { checks: async () => ({}) }, { mounts: [mount] });
  try {
    const url = `http://127.0.0.1:${port}`;
    const post = () =>
      fetch(`${url}/s/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.7' }, body: '{"a":1}' });
    const answers = await Promise.all([post(), post(), post()]);
    assert.deepEqual(await Promise.all(answers.map((a) => a.json())), Array(3).fill({ body: { a: 1 }, ip: '192.0.2.7' }));
    assert.equal(loads, 1);
    assert.equal((await fetch(`${url}/s/nothing`)).status, 404);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await app.close();
  }
});

test('a surface route outside the prefixes fails the first request (it would never be reached) and is retried at the next', async () => {
  let loads = 0;
  const app = Fastify();
  await lazySurfaces({
    prefixes: ['/s/*'],
    trustedProxies: [],
    async load() {
      loads++;
      return [(inner) => void inner.get('/elsewhere', async () => 'unreachable')];
    },
  })(app);
  assert.equal((await app.inject('/s/x')).statusCode, 500);
  assert.equal((await app.inject('/s/x')).statusCode, 500);
  assert.equal(loads, 2);
  await app.close();
});

test("covers: a wildcard prefix covers every route below it, a plain one only itself (the gateway's own are checked at the first console request above)", () => {
  assert.ok(covers('/m/*', '/m/:token'));
  assert.ok(!covers('/m', '/m/:token'));
  assert.ok(covers('/api/*', '/api/docs/static/*'));
  assert.ok(SURFACE_PREFIXES.some((prefix) => covers(prefix, '/api/v1/domains')));
});
