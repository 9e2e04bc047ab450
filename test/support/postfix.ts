/**
 * A private Postfix instance playing an organisation's own mail server: it accepts any mail
 * from loopback without auth and relays all of it to the gateway with STARTTLS required,
 * the gateway certificate verified, and SASL AUTH with the organisation's credential.
 *
 * Same approach as shared/bench-peers (peers/postfix/*.cf.in): own config, queue and data
 * directories under a temp dir, chroot off, loopback only, IPv4 only, no DNS, log to a file
 * in the instance dir. The system instance in /etc/postfix is never touched.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

const POSTFIX = '/usr/sbin/postfix';
const POSTQUEUE = '/usr/sbin/postqueue';
const POSTCONF = '/usr/sbin/postconf';
const DAEMON_DIRECTORY = '/usr/lib/postfix/sbin';
const COMMAND_TIMEOUT_MS = 30_000;

const run = promisify(execFile);

export interface PostfixRelayOptions {
  /** The gateway's address; must be an IPv4 loopback literal so that Postfix resolves nothing. */
  relayHost: string;
  relayPort: number;
  /** SASL AUTH with the organisation's inbound credential; left out (with `clientCertificate` instead), no AUTH at all. */
  username?: string;
  password?: string;
  /**
   * A TLS client certificate (PEM, leaf first) and its key, presented to the gateway
   * (smtp_tls_cert_file): what an Exchange Online connector does instead of AUTH.
   */
  clientCertificate?: { certPem: string; keyPem: string };
  /** PEM of the CA that signed the gateway's certificate: the only trust anchor Postfix gets. */
  caCertPem: string;
  /** DNS name the gateway certificate must carry (also sent as SNI). Default 'localhost'. */
  tlsServerName?: string;
  /** A fresh temp dir; it is made 0755 because Postfix daemons drop to the postfix user. */
  dir: string;
}

/** One message in the queue, as `postqueue -j` reports it. */
export interface PostfixQueueEntry {
  queue_id: string;
  queue_name: 'incoming' | 'active' | 'deferred' | 'hold' | 'maildrop' | string;
  sender: string;
  recipients: { address: string; delay_reason?: string }[];
}

export interface PostfixRelay {
  /** Its smtpd on 127.0.0.1, accepting mail from 127.0.0.0/8 without auth. */
  port: number;
  /** The instance's log so far ('' before the first line). */
  maillog(): string;
  queue(): Promise<PostfixQueueEntry[]>;
  queueEmpty(): Promise<boolean>;
  /** `postqueue -f`: attempt delivery of everything queued now, deferred mail included. */
  flush(): Promise<void>;
  /** `postconf -h NAME`: a parameter's value as the running instance has it. */
  setting(name: string): Promise<string>;
  /** `postfix stop`, then waits until the master process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Undefined when a private instance can run here; otherwise why not, for needsPeer. */
export function postfixUnavailable(): string | undefined {
  if (![POSTFIX, POSTQUEUE, POSTCONF, join(DAEMON_DIRECTORY, 'master')].every((path) => existsSync(path))) {
    return `Postfix is not installed (no ${POSTFIX}); .ci/run installs it with apt-get when it runs as root`;
  }
  if (process.getuid?.() !== 0) return 'a private Postfix instance must be started as root (its daemons drop to the postfix user)';
  for (const [db, name] of [
    ['passwd', 'postfix'],
    ['group', 'postdrop'],
  ] as const) {
    if (spawnSync('getent', [db, name]).status !== 0) return `no ${name} entry in ${db}: the Debian postfix package is incompletely installed`;
  }
  if (!saslPlainClientInstalled()) return 'no Cyrus SASL PLAIN plugin for the Postfix SMTP client (apt-get install libsasl2-modules)';
  return undefined;
}

// Debian's Postfix authenticates through Cyrus SASL, whose PLAIN and LOGIN mechanisms come from
// libsasl2-modules; without them the client fails with "no worthy mechs".
function saslPlainClientInstalled(): boolean {
  const libDirs = ['/usr/lib', ...readdirSync('/usr/lib').map((entry) => join('/usr/lib', entry))];
  return libDirs.some((dir) => existsSync(join(dir, 'sasl2', 'libplain.so')));
}

export async function startPostfixRelay(options: PostfixRelayOptions): Promise<PostfixRelay> {
  const layout = instanceLayout(options.dir);
  const port = await freePort();
  await writeInstanceFiles(layout, options, port);
  await checkConfig(layout);
  const relay = relayHandle(layout, port);
  running.add(layout.configDir);
  try {
    await postfix(layout, 'start');
  } catch (err) {
    await relay.stop().catch(() => undefined);
    throw new Error(`postfix start failed; maillog:\n${relay.maillog()}`, { cause: err });
  }
  return relay;
}

export interface InstanceLayout {
  dir: string;
  configDir: string;
  queueDir: string;
  dataDir: string;
  maillogFile: string;
}

function instanceLayout(dir: string): InstanceLayout {
  // main.cf lists split on whitespace and commas; a path with either would be cut in two.
  if (!/^\/[\w./-]+$/.test(dir)) throw new Error(`instance dir must be an absolute path of [A-Za-z0-9_./-] only: ${dir}`);
  return {
    dir,
    configDir: join(dir, 'etc'),
    queueDir: join(dir, 'spool'),
    dataDir: join(dir, 'data'),
    maillogFile: join(dir, 'maillog'),
  };
}

async function writeInstanceFiles(layout: InstanceLayout, options: PostfixRelayOptions, port: number): Promise<void> {
  // master opens data/master.lock as the postfix user, which must traverse the instance dir
  // (mkdtemp makes it 0700). The queue dir is root's and must exist; `postfix check` fills it
  // in. The data dir is left for `postfix check` to create: only a dir it creates is given
  // to the postfix user (a pre-made one stays root's and master cannot take its lock).
  await chmod(layout.dir, 0o755);
  await mkdir(layout.configDir, { mode: 0o755 });
  await mkdir(layout.queueDir, { mode: 0o755 });
  const caFile = join(layout.configDir, 'gateway-ca.pem');
  const passwordFile = join(layout.configDir, 'sasl_passwd');
  await writeFile(caFile, options.caCertPem, { mode: 0o644 });
  // Read by the smtp client before it drops privileges, so root-only is enough (SASL_README).
  if (options.username !== undefined) await writeFile(passwordFile, `${saslPasswordEntry(options)}\n`, { mode: 0o600 });
  const clientCertFile = join(layout.configDir, 'client-cert.pem');
  const clientKeyFile = join(layout.configDir, 'client-key.pem');
  if (options.clientCertificate) {
    await writeFile(clientCertFile, options.clientCertificate.certPem, { mode: 0o644 });
    // The smtp client opens its key as root too, before it drops privileges (TLS_README).
    await writeFile(clientKeyFile, options.clientCertificate.keyPem, { mode: 0o600 });
  }
  const settings = {
    ...mainCf(layout, options, { caFile, passwordFile }),
    ...(options.clientCertificate ? { smtp_tls_cert_file: clientCertFile, smtp_tls_key_file: clientKeyFile } : {}),
  };
  await writeFile(
    join(layout.configDir, 'main.cf'),
    `${Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
    {
      mode: 0o644,
    },
  );
  await writeFile(join(layout.configDir, 'master.cf'), masterCf(port), { mode: 0o644 });
}

function saslPasswordEntry(options: PostfixRelayOptions): string {
  checkRelayHost(options.relayHost);
  const { username = '', password = '' } = options;
  // texthash: "key value" per line; Postfix splits the value at the first ':'.
  if (!/^[^\s:]+$/.test(username)) throw new Error('username must be non-empty without whitespace or ":"');
  if (!/^\S(?:[^\r\n]*\S)?$/.test(password)) throw new Error('password must be one line without leading or trailing whitespace');
  return `[${options.relayHost}]:${options.relayPort} ${username}:${password}`;
}

function checkRelayHost(relayHost: string): void {
  if (!isIPv4(relayHost) || !relayHost.startsWith('127.'))
    throw new Error(`relayHost must be an IPv4 loopback address (no name lookups in tests): ${relayHost}`);
}

/** The main.cf settings of an instance; exported so that the operator guide can be checked against them. */
export function mainCf(layout: InstanceLayout, options: PostfixRelayOptions, files: { caFile: string; passwordFile: string }): Record<string, string> {
  const tlsServerName = options.tlsServerName ?? 'localhost';
  checkRelayHost(options.relayHost);
  const sasl = options.username !== undefined;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(tlsServerName)) throw new Error(`tlsServerName must be a DNS name: ${tlsServerName}`);
  return {
    compatibility_level: '3.6',
    config_directory: layout.configDir,
    queue_directory: layout.queueDir,
    data_directory: layout.dataDir,
    command_directory: '/usr/sbin',
    daemon_directory: DAEMON_DIRECTORY,
    meta_directory: '/etc/postfix',
    shlib_directory: '/usr/lib/postfix',
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    maillog_file: layout.maillogFile,
    // The default (/var, /dev/stdout) refuses a log file under the temp dir.
    maillog_file_prefixes: layout.dir,
    // Identity set explicitly so that nothing falls back to DNS.
    myhostname: 'mail.org.test',
    mydomain: 'org.test',
    myorigin: '$myhostname',
    // Nothing is local: every recipient, whatever its domain, goes to the relayhost.
    mydestination: '',
    local_recipient_maps: '',
    local_transport: 'error:5.1.1 local delivery is disabled in this test relay',
    alias_maps: '',
    alias_database: '',
    biff: 'no',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    smtp_dns_support_level: 'disabled',
    smtpd_peername_lookup: 'no',
    relayhost: `[${options.relayHost}]:${options.relayPort}`,
    // TLS required and verified against the given CA only; the name is matched literally,
    // because the next hop is an IP literal that a DNS-name certificate never carries.
    smtp_tls_security_level: 'secure',
    smtp_tls_secure_cert_match: tlsServerName,
    smtp_tls_servername: tlsServerName,
    smtp_tls_CAfile: files.caFile,
    smtp_tls_loglevel: '1',
    ...(sasl
      ? {
          smtp_sasl_auth_enable: 'yes',
          smtp_sasl_password_maps: `texthash:${files.passwordFile}`,
          // The defaults add noplaintext, which rules out PLAIN and LOGIN even inside TLS.
          smtp_sasl_security_options: 'noanonymous',
          smtp_sasl_tls_security_options: 'noanonymous',
          smtp_sasl_mechanism_filter: 'plain, login',
          // A 535 defers rather than bounces (the default, stated because the tests rely on it).
          smtp_sasl_auth_soft_bounce: 'yes',
        }
      : { smtp_sasl_auth_enable: 'no' }),
    // A deferred message rests in the deferred queue until a test retries it with flush(): with
    // retries every second it was caught in incoming/active half the time. No test waits for one.
    queue_run_delay: '60s',
    minimal_backoff_time: '60s',
    maximal_backoff_time: '120s',
    transport_retry_time: '1s',
    smtp_connect_timeout: '5s',
  };
}

// Debian's stock services with chroot off (the instance lives outside /var/spool/postfix)
// and smtpd on 127.0.0.1 only; as in shared/bench-peers/peers/postfix/master.cf.in.
export function masterCf(port: number): string {
  return `127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

// `postconf -n` warns about unknown parameter names (typos) on stderr; `postfix check` creates
// the queue and data dirs and logs ownership or mode problems to the maillog. Either is fatal here.
async function checkConfig(layout: InstanceLayout): Promise<void> {
  const postconf = await run(POSTCONF, ['-c', layout.configDir, '-n'], { timeout: COMMAND_TIMEOUT_MS });
  const check = await postfix(layout, 'check').catch((err: Error & { stdout?: string; stderr?: string }) => ({
    stdout: err.stdout ?? '',
    stderr: `${err.stderr ?? ''}\nerror: ${err.message}`,
  }));
  const logged = existsSync(layout.maillogFile) ? await readFile(layout.maillogFile, 'utf8') : '';
  const problems = [postconf.stderr, check.stdout, check.stderr, logged]
    .flatMap((text) => text.split('\n'))
    .filter((line) => /\b(warning|fatal|error):/.test(line));
  if (problems.length > 0) throw new Error(`postfix configuration problems in ${layout.configDir}:\n${problems.join('\n')}`);
}

type InstanceDirs = Pick<InstanceLayout, 'configDir' | 'queueDir'>;

function postfix(layout: Pick<InstanceLayout, 'configDir'>, command: 'check' | 'start' | 'stop'): Promise<{ stdout: string; stderr: string }> {
  return run(POSTFIX, ['-c', layout.configDir, command], { timeout: COMMAND_TIMEOUT_MS });
}

function relayHandle(layout: InstanceLayout, port: number): PostfixRelay {
  const queue = async (): Promise<PostfixQueueEntry[]> => {
    // One JSON object per line; no output at all when the queue is empty.
    const { stdout } = await run(POSTQUEUE, ['-c', layout.configDir, '-j'], { timeout: COMMAND_TIMEOUT_MS });
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as PostfixQueueEntry);
  };
  return {
    port,
    maillog: () => (existsSync(layout.maillogFile) ? readFileSync(layout.maillogFile, 'utf8') : ''),
    queue,
    queueEmpty: async () => (await queue()).length === 0,
    flush: async () => {
      await run(POSTQUEUE, ['-c', layout.configDir, '-f'], { timeout: COMMAND_TIMEOUT_MS });
    },
    setting: async (name) => (await run(POSTCONF, ['-c', layout.configDir, '-h', name], { timeout: COMMAND_TIMEOUT_MS })).stdout.trim(),
    stop: () => stopInstance(layout),
  };
}

/**
 * For another kind of private instance (postfix-receiver.ts): `postfix start` with the
 * instance stopped at process exit if its test does not, and the stop that waits for it.
 */
export async function startInstance(layout: InstanceDirs): Promise<void> {
  running.add(layout.configDir);
  await postfix(layout, 'start');
}

export async function stopInstance(layout: InstanceDirs): Promise<void> {
  const pid = masterPid(layout);
  running.delete(layout.configDir);
  if (pid === undefined || !processAlive(pid)) return;
  await postfix(layout, 'stop');
  // `postfix stop` only signals the master; wait for it so that no instance outlives its test.
  await waitFor(() => !processAlive(pid), { what: `postfix master ${pid} (${layout.configDir}) to exit` });
}

function masterPid(layout: InstanceDirs): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(layout.queueDir, 'pid', 'master.pid'), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// The master daemonises, so its parent is PID 1, which on some containers reaps late: an exited
// master can linger as a zombie, which counts as gone. A stale pid file after a failed start is
// checked against the process name so an unrelated process that got the pid is not waited on.
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const match = /^\d+ \((.*)\) (\S)/.exec(stat);
    return match?.[1] === 'master' && match[2] !== 'Z';
  } catch {
    return false;
  }
}

// A test process that dies before stop() (a failed assertion before a finally, a timeout) must
// not leave a master running: stop whatever is still registered, synchronously, on exit.
const running = new Set<string>();
process.once('exit', () => {
  for (const configDir of running) spawnSync(POSTFIX, ['-c', configDir, 'stop'], { stdio: 'ignore', timeout: 10_000 });
});
