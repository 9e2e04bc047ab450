import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { tempDir } from './support/temp-dir.js';

const BAD_CONFIGS = fileURLToPath(new URL('./bad-configs/', import.meta.url));

function problemsOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('configuration', () => {
  test('defaults: SQLite in ./data, the submission ports, health on 8025, 5-day expiry', () => {
    const config = loadConfig({ env: {} });
    assert.match(config.dataDir, /\/data$/);
    assert.ok([587, 2587].includes(config.smtp.port));
    assert.ok([465, 2465].includes(config.smtp.smtpsPort));
    assert.equal(config.http.port, 8025);
    assert.equal(config.queue.expireAfter, 5 * 86_400_000);
    assert.equal(config.smarthost, undefined);
  });

  test('environment variables override the YAML file', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'relaygate.yaml');
      await writeFile(file, 'smtp:\n  port: 3587\n  maxRecipients: 20\nqueue:\n  expireAfter: 2d\n');
      const config = loadConfig({ file, env: { RELAYGATE_SMTP_PORT: '4587', RELAYGATE_SMARTHOST: 'smtps://relay:p%40ss@mail.example.com' } });
      assert.equal(config.smtp.port, 4587);
      assert.equal(config.smtp.maxRecipients, 20);
      assert.equal(config.queue.expireAfter, 2 * 86_400_000);
      assert.deepEqual(config.smarthost, { host: 'mail.example.com', port: 465, tls: 'implicit', auth: { user: 'relay', pass: 'p@ss' } });
    } finally {
      await dir.cleanup();
    }
  });

  test('smarthost URLs: STARTTLS by default, smtps for implicit TLS, tls=none only when asked', () => {
    const parse = (url: string) => loadConfig({ env: { RELAYGATE_SMARTHOST: url } }).smarthost;
    assert.deepEqual(parse('smtp://u:p@mx.example.com:2525'), { host: 'mx.example.com', port: 2525, tls: 'starttls', auth: { user: 'u', pass: 'p' } });
    assert.deepEqual(parse('smtp://mx.example.com'), { host: 'mx.example.com', port: 587, tls: 'starttls' });
    assert.deepEqual(parse('smtp://127.0.0.1:2600?tls=none'), { host: '127.0.0.1', port: 2600, tls: 'none' });
    assert.match(
      problemsOf(() => parse('smtps://mx.example.com?tls=none')),
      /smarthost = "smtps:\/\/mx.example.com\?tls=none" \(from environment variable RELAYGATE_SMARTHOST\): combines smtps:\/\/ with tls=none/,
    );
  });

  test('an unknown RELAYGATE_ variable is an error; the test harness variables are not', () => {
    assert.match(
      problemsOf(() => loadConfig({ env: { RELAYGATE_SMTP_PROT: '1' } })),
      /RELAYGATE_SMTP_PROT \(from environment\): is not a Relaygate setting\n {4}fix: remove it, or use one of RELAYGATE_DATA_DIR/,
    );
    assert.doesNotThrow(() => loadConfig({ env: { RELAYGATE_TEST_DATABASE_URL: 'postgres://x' } }));
  });

  test('a wrong environment value names the variable, the value and what is allowed', () => {
    assert.equal(
      problemsOf(() => loadConfig({ env: { RELAYGATE_HTTP_PORT: 'eighty' } })),
      '  http.port = "eighty" (from environment variable RELAYGATE_HTTP_PORT): must be a number\n    fix: set http.port to a port number from 0 to 65535',
    );
  });

  test('a bare 0 turns off the durations documented with "0 turns it off", from the environment and from YAML', async () => {
    const off = loadConfig({ env: { RELAYGATE_VERIFICATION_INTERVAL: '0', RELAYGATE_DKIM_CHECK_INTERVAL: '0', RELAYGATE_HEALTH_MIN_FREE_DISK: '0' } });
    assert.equal(off.verification.interval, 0);
    assert.equal(off.dkim.checkInterval, 0);
    assert.equal(off.health.minFreeDisk, 0);
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'relaygate.yaml');
      await writeFile(file, 'verification:\n  interval: 0\ndkim:\n  checkInterval: 0\n');
      const fromYaml = loadConfig({ file, env: {} });
      assert.equal(fromYaml.verification.interval, 0);
      assert.equal(fromYaml.dkim.checkInterval, 0);
    } finally {
      await dir.cleanup();
    }
    assert.equal(
      problemsOf(() => loadConfig({ env: { RELAYGATE_QUEUE_RETRY_MAX: '30' } })),
      '  queue.retryMax = "30" (from environment variable RELAYGATE_QUEUE_RETRY_MAX): has no unit (only 0 may be written without one)\n    fix: set queue.retryMax to a duration such as 30s, 5m or 5d (units ms, s, m, h, d)',
    );
  });

  // Each file in test/bad-configs/ is a broken configuration; its "# expect:" lines are
  // fragments the error must contain (FILE stands for the file's path).
  for (const name of readdirSync(BAD_CONFIGS).filter((f) => f.endsWith('.yaml'))) {
    test(`bad config ${name}`, () => {
      const file = join(BAD_CONFIGS, name);
      const expected = [...readFileSync(file, 'utf8').matchAll(/^# expect: (.*)$/gm)].map((m) => (m[1] as string).replaceAll('FILE', file));
      assert.ok(expected.length > 0, 'the file says what to expect');
      const message = problemsOf(() => loadConfig({ file, env: {} }));
      for (const fragment of expected) assert.ok(message.includes(fragment), `expected\n${fragment}\nin\n${message}`);
    });
  }

  test('relaygate start with a bad value stops with exit code 78 and every problem listed', async () => {
    const dir = await tempDir();
    try {
      const result = await runCli(['start'], gatewayEnv(dir.path, { RELAYGATE_SMTP_PORT: '-1', RELAYGATE_QUEUE_EXPIRE_AFTER: 'soon' }));
      assert.equal(result.code, 78);
      assert.match(result.stderr, /^relaygate: the configuration has 2 problems:\n/);
      assert.match(
        result.stderr,
        /smtp\.port = "-1" \(from environment variable RELAYGATE_SMTP_PORT\): must be at least 0\n {4}fix: set smtp\.port to a port number from 0 to 65535/,
      );
      assert.match(result.stderr, /queue\.expireAfter = "soon" \(from environment variable RELAYGATE_QUEUE_EXPIRE_AFTER\): is not a duration/);
    } finally {
      await dir.cleanup();
    }
  });
});
