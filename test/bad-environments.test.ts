import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { type CliOptions, gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer, peerAvailable } from './support/peers.js';
import { tempDir } from './support/temp-dir.js';

// Each case is a real `relaygate start` (or CLI verb) in a machine it cannot work in. It must stop
// by itself with the exit status, the path or key, the errno in words and a fix, and no stack
// trace. The bound is generous: the checks themselves take milliseconds, but booting a child from
// the sources through tsx took 20-60 s on the shared test machine (load 20 on 2 cores); what it
// proves is that nothing spins (before, a data directory under /proc never returned).
const BOUND_MS = 90_000;
const SLOW_OK = { timeout: 4 * BOUND_MS };

const EX_UNAVAILABLE = 69;
const EX_CANTCREAT = 73;
const EX_CONFIG = 78;

/** Root passes every permission check: a permission case runs its child as nobody instead. */
const ROOT = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
// nobody must reach this Node binary (a mkdtemp-made 0700 directory above it hides it).
const NOBODY_CANNOT_RUN_NODE = ROOT ? nodeUnreachableByNobody() : undefined;

function nodeUnreachableByNobody(): string | undefined {
  const probe = spawnSync(process.execPath, ['-e', ''], NOBODY);
  if (!probe.error) return undefined;
  return `nobody (uid ${NOBODY.uid}) cannot run ${process.execPath} (${(probe.error as NodeJS.ErrnoException).code}): make every directory above it 0755`;
}

function asNobody(): CliOptions {
  assert.equal(NOBODY_CANNOT_RUN_NODE, undefined, NOBODY_CANNOT_RUN_NODE);
  return NOBODY;
}
// A CI machine runs as root, so a missing root is a missing peer here (test/support/peers.ts).
const MOUNT_MISSING = mountMissing();

function mountMissing(): string | undefined {
  if (!ROOT) return 'a read-only bind mount needs root';
  if (spawnSync('mount', ['--version']).status !== 0) return 'mount(8) is not installed (util-linux)';
  return undefined;
}

async function stops(args: string[], env: NodeJS.ProcessEnv, options: CliOptions = {}) {
  const result = await runCli(args, env, { timeoutMs: BOUND_MS, ...options });
  assert.equal(result.timedOut, false, `stopped by itself within ${BOUND_MS / 1000} s; it said:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.match(result.stderr, /^relaygate: /);
  assert.match(result.stderr, /\n\s+fix: \S/, 'a fix');
  return result;
}

/** A directory of the test, and its path as the gateway's data directory. */
async function scratch() {
  const dir = await tempDir();
  // mkdtemp makes it 0700: nobody must reach what is inside to meet the problem the test sets up.
  if (ROOT) await chmod(dir.path, 0o755);
  return { ...dir, env: (dataDir: string, extra: Record<string, string> = {}) => gatewayEnv(dataDir, extra) };
}

async function holding(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('a data directory relaygate cannot use', { concurrency: 2 }, () => {
  test('under /proc: exit 73 at once (mkdir -p used to spin there for ever)', SLOW_OK, async () => {
    const result = await stops(['start'], gatewayEnv('/proc/relaygate-data'));
    assert.equal(result.code, EX_CANTCREAT);
    assert.match(
      result.stderr,
      /^relaygate: the data directory \/proc\/relaygate-data \(dataDir, RELAYGATE_DATA_DIR\) cannot be created: no such file or directory \(ENOENT\)\n {2}fix: \/proc is a virtual filesystem of the kernel and holds no files of ours: set RELAYGATE_DATA_DIR to a directory on a writable local filesystem/,
    );
  });

  test('a file where the directory should be, or one of its parents: exit 73, the file named', SLOW_OK, async () => {
    const dir = await scratch();
    try {
      const file = join(dir.path, 'data');
      await writeFile(file, 'not a directory\n');
      for (const dataDir of [file, join(file, 'below')]) {
        const result = await stops(['start'], dir.env(dataDir));
        assert.equal(result.code, EX_CANTCREAT);
        assert.match(
          result.stderr,
          new RegExp(`the data directory ${dataDir} \\(dataDir, RELAYGATE_DATA_DIR\\) cannot be created: not a directory \\(ENOTDIR\\)`),
        );
        assert.match(result.stderr, new RegExp(`fix: ${file} is a file, not a directory: move it away`));
      }
    } finally {
      await dir.cleanup();
    }
  });

  test('a directory owned by another user: exit 73, permission denied (EACCES)', SLOW_OK, async () => {
    const dir = await scratch();
    try {
      // As root the child runs as nobody in root's 0755 directory; otherwise the test's own 0500 directory.
      const theirs = join(dir.path, 'theirs');
      await mkdir(theirs, { mode: 0o755 });
      if (!ROOT) await chmod(theirs, 0o500);
      for (const dataDir of [theirs, join(theirs, 'data')]) {
        const result = await stops(['start'], dir.env(dataDir), ROOT ? asNobody() : {});
        assert.equal(result.code, EX_CANTCREAT);
        const what = dataDir === theirs ? 'cannot be written' : 'cannot be created';
        assert.match(result.stderr, new RegExp(`the data directory ${dataDir} \\(dataDir, RELAYGATE_DATA_DIR\\) ${what}: permission denied \\(EACCES\\)`));
        assert.match(result.stderr, /fix: let the user running relaygate \(uid \d+\) write there/);
      }
    } finally {
      await chmod(join(dir.path, 'theirs'), 0o700).catch(() => undefined);
      await dir.cleanup();
    }
  });

  test('a read-only mount, and an immutable directory (root): exit 73, EROFS and EPERM', {
    ...SLOW_OK,
    ...needsPeer(MOUNT_MISSING),
  }, async () => {
    const dir = await scratch();
    const mounted = join(dir.path, 'ro');
    try {
      await mkdir(mounted);
      assert.equal(spawnSync('mount', ['--bind', mounted, mounted]).status, 0);
      assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', mounted]).status, 0);
      const readOnly = await stops(['start'], dir.env(join(mounted, 'data')));
      assert.equal(readOnly.code, EX_CANTCREAT);
      assert.match(
        readOnly.stderr,
        /cannot be created: read-only file system \(EROFS\)\n {2}fix: \S+ is on a read-only filesystem: mount a writable volume there/,
      );

      const immutable = join(dir.path, 'immutable');
      await mkdir(immutable);
      const chattr = spawnSync('chattr', ['+i', immutable], { encoding: 'utf8' });
      if (
        peerAvailable(
          chattr.status === 0 ? undefined : `chattr +i failed here (${chattr.error?.message ?? chattr.stderr.trim()}), so the immutable case is left out`,
        )
      ) {
        try {
          const result = await stops(['start'], dir.env(immutable));
          assert.equal(result.code, EX_CANTCREAT);
          assert.match(result.stderr, new RegExp(`${immutable} \\(dataDir, RELAYGATE_DATA_DIR\\) cannot be written: operation not permitted \\(EPERM\\)`));
        } finally {
          spawnSync('chattr', ['-i', immutable]);
        }
      }
    } finally {
      spawnSync('umount', [mounted]);
      await dir.cleanup();
    }
  });

  test('the CLI verbs that open the store say the same: migrate, queue list', SLOW_OK, async () => {
    for (const args of [['migrate'], ['queue', 'list']]) {
      const result = await stops(args, gatewayEnv('/proc/relaygate-data'));
      assert.equal(result.code, EX_CANTCREAT);
      assert.match(
        result.stderr,
        /^relaygate: the data directory \/proc\/relaygate-data \(dataDir, RELAYGATE_DATA_DIR\) cannot be created: no such file or directory \(ENOENT\)/,
      );
    }
  });
});

describe('a certificate or key relaygate cannot use', { concurrency: 2 }, () => {
  const withTls = async (files: (dir: string) => Promise<{ cert: string; key: string }>, check: (stderr: string) => void, options: CliOptions = {}) => {
    const dir = await scratch();
    try {
      const data = join(dir.path, 'data');
      await mkdir(data);
      if (options.uid !== undefined) await chown(data, options.uid, options.gid ?? options.uid);
      const { cert, key } = await files(dir.path);
      const result = await stops(['start'], dir.env(data, { RELAYGATE_TLS_CERT: cert, RELAYGATE_TLS_KEY: key }), options);
      assert.equal(result.code, EX_CONFIG, result.stderr);
      check(result.stderr);
    } finally {
      await dir.cleanup();
    }
  };
  const pair = async (dir: string) => {
    const leaf = await makeLeafCert(await makeTestCa(), ['gateway.test']);
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await writeFile(cert, leaf.cert);
    await writeFile(key, leaf.key, { mode: 0o600 });
    return { cert, key };
  };

  test('a missing certificate file: exit 78, the key, the path and ENOENT', SLOW_OK, async () => {
    await withTls(
      async (dir) => ({ ...(await pair(dir)), cert: join(dir, 'missing.pem') }),
      (stderr) =>
        assert.match(
          stderr,
          /tls\.certFile = "\S+\/missing\.pem" \(from environment variable RELAYGATE_TLS_CERT or the configuration file\): cannot be read: no such file or directory \(ENOENT\)\n {4}fix: set RELAYGATE_TLS_CERT to the path of the certificate/,
        ),
    );
  });

  test('a key the user running relaygate may not read: exit 78, permission denied (EACCES)', SLOW_OK, async () => {
    await withTls(
      async (dir) => {
        const files = await pair(dir);
        if (!ROOT) await chmod(files.key, 0o000);
        return files;
      },
      (stderr) => {
        assert.match(
          stderr,
          /tls\.keyFile = "\S+\/key\.pem" \(from environment variable RELAYGATE_TLS_KEY or the configuration file\): cannot be read: permission denied \(EACCES\)/,
        );
        assert.match(stderr, /fix: let the user running relaygate \(uid \d+\) read it, e.g\. chgrp relaygate \S+key\.pem && chmod 640/);
      },
      ROOT ? asNobody() : {},
    );
  });

  test('files that are not PEM: exit 78, which one and what it should hold', SLOW_OK, async () => {
    await withTls(
      async (dir) => {
        const files = await pair(dir);
        await writeFile(files.cert, 'this is not a certificate\n');
        return files;
      },
      (stderr) =>
        assert.match(
          stderr,
          /tls\.certFile = "\S+cert\.pem" .*: is not a PEM certificate .*\n {4}fix: set RELAYGATE_TLS_CERT to the certificate \(PEM, leaf first/,
        ),
    );
    await withTls(
      async (dir) => {
        const files = await pair(dir);
        await writeFile(files.key, 'this is not a key\n');
        return files;
      },
      (stderr) => assert.match(stderr, /tls\.keyFile = "\S+key\.pem" .*: is not a PEM private key/),
    );
  });

  test('a key that does not belong to the certificate: exit 78, how to compare them', SLOW_OK, async () => {
    await withTls(
      async (dir) => {
        const files = await pair(dir);
        const other = await makeLeafCert(await makeTestCa(), ['other.test']);
        await writeFile(files.key, other.key);
        return files;
      },
      (stderr) => {
        assert.match(stderr, /tls\.keyFile = "\S+key\.pem" .*: does not belong to the certificate in \S+cert\.pem \(CN=gateway\.test\)/);
        assert.match(
          stderr,
          /fix: give the key the certificate was issued for: openssl x509 -noout -pubkey -in \S+ and openssl pkey -pubout -in \S+ print the same/,
        );
      },
    );
  });
});

describe('a port another process holds', { concurrency: 2 }, () => {
  for (const [key, env] of [
    ['smtp.port', 'RELAYGATE_SMTP_PORT'],
    ['smtp.smtpsPort', 'RELAYGATE_SMTPS_PORT'],
    ['smtp.relayPort', 'RELAYGATE_SMTP_RELAY_PORT'],
    ['http.port', 'RELAYGATE_HTTP_PORT'],
  ] as const) {
    test(`${key} in use: exit 69 (EX_UNAVAILABLE), the address, the key and how to find the holder`, SLOW_OK, async () => {
      const dir = await scratch();
      const held = await holding();
      try {
        const result = await stops(['start'], dir.env(join(dir.path, 'data'), { [env]: String(held.port) }));
        assert.equal(result.code, EX_UNAVAILABLE, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(
            `^relaygate: cannot listen on 127\\.0\\.0\\.1:${held.port} \\(${key.replace('.', '\\.')}, ${env}\\): address already in use \\(EADDRINUSE\\)\\n {2}fix: another process listens there .*ss -ltnp 'sport = :${held.port}' names it; stop it, or set ${env} to a free port\\n$`,
          ),
        );
      } finally {
        held.server.close();
        await dir.cleanup();
      }
    });
  }
});
