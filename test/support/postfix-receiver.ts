/**
 * A private Postfix instance playing the receiving side of an Exchange Online inbound
 * connector that checks the sender's certificate: STARTTLS required, a client certificate
 * required and verified against the given CA (`smtpd_tls_req_ccert`), and relaying for the
 * tenant's domain only for a client whose certificate is listed (`permit_tls_clientcerts`,
 * by SHA-256 fingerprint). What it accepts goes on to `nextHop` (an SMTP sink) so that a
 * test can see it arrive. Loopback only, no DNS, own directories, as test/support/postfix.ts.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { masterCf, startInstance, stopInstance } from './postfix.js';

const POSTFIX = '/usr/sbin/postfix';
const COMMAND_TIMEOUT_MS = 30_000;
const run = promisify(execFile);

export interface PostfixReceiverOptions {
  /** Mail for this domain is relayed (when the client certificate is trusted); nothing else is. */
  relayDomain: string;
  /** The server certificate Postfix presents (chain PEM and key). */
  server: { chain: string; key: string };
  /** CA that must have signed the client's certificate. */
  clientCaPem: string;
  /** Client certificates (PEM) whose fingerprint relay_clientcerts lists. */
  trustedClientCerts: string[];
  /** Where accepted mail goes: 127.0.0.1:port, plain SMTP unless `nextHopTls`. */
  nextHopPort: number;
  /**
   * To the next hop as Exchange Online's outbound connector reaches a smart host: STARTTLS
   * verified against `caPem` for `serverName`, presenting this client certificate.
   */
  nextHopTls?: { caPem: string; serverName: string; clientCert: { chain: string; key: string } };
  dir: string;
}

export interface PostfixReceiver {
  port: number;
  maillog(): string;
  stop(): Promise<void>;
}

export async function startPostfixReceiver(options: PostfixReceiverOptions): Promise<PostfixReceiver> {
  if (!/^\/[\w./-]+$/.test(options.dir)) throw new Error(`instance dir must be an absolute path of [A-Za-z0-9_./-] only: ${options.dir}`);
  const configDir = join(options.dir, 'etc');
  const queueDir = join(options.dir, 'spool');
  const maillogFile = join(options.dir, 'maillog');
  const port = await freePort();
  await chmod(options.dir, 0o755);
  await mkdir(configDir, { mode: 0o755 });
  await mkdir(queueDir, { mode: 0o755 });
  const file = (name: string) => join(configDir, name);
  await writeFile(file('server.pem'), options.server.chain, { mode: 0o644 });
  // smtpd reads its key before dropping privileges.
  await writeFile(file('server.key'), options.server.key, { mode: 0o600 });
  await writeFile(file('client-ca.pem'), options.clientCaPem, { mode: 0o644 });
  const fingerprints = options.trustedClientCerts.map((pem) => `${new X509Certificate(pem).fingerprint256} trusted-gateway`);
  await writeFile(file('relay_clientcerts'), `${fingerprints.join('\n')}\n`, { mode: 0o644 });
  const nextHopTls = options.nextHopTls;
  if (nextHopTls) {
    await writeFile(file('next-hop-ca.pem'), nextHopTls.caPem, { mode: 0o644 });
    await writeFile(file('client.pem'), nextHopTls.clientCert.chain, { mode: 0o644 });
    await writeFile(file('client.key'), nextHopTls.clientCert.key, { mode: 0o600 });
  }
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    config_directory: configDir,
    queue_directory: queueDir,
    data_directory: join(options.dir, 'data'),
    command_directory: '/usr/sbin',
    daemon_directory: '/usr/lib/postfix/sbin',
    meta_directory: '/etc/postfix',
    shlib_directory: '/usr/lib/postfix',
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    maillog_file: maillogFile,
    maillog_file_prefixes: options.dir,
    myhostname: 'tenant-test.mail.protection.test',
    mydomain: 'mail.protection.test',
    myorigin: '$myhostname',
    mydestination: '',
    local_recipient_maps: '',
    alias_maps: '',
    alias_database: '',
    biff: 'no',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    // Loopback is not a trusted network here: only the certificate may open the relay.
    mynetworks: '192.0.2.1/32',
    smtp_dns_support_level: 'disabled',
    smtpd_peername_lookup: 'no',
    relay_domains: options.relayDomain,
    // The connector's check: a verified certificate whose fingerprint is listed, else refused.
    smtpd_tls_security_level: 'encrypt',
    smtpd_tls_cert_file: file('server.pem'),
    smtpd_tls_key_file: file('server.key'),
    smtpd_tls_CAfile: file('client-ca.pem'),
    smtpd_tls_ask_ccert: 'yes',
    smtpd_tls_req_ccert: 'yes',
    smtpd_tls_fingerprint_digest: 'sha256',
    smtpd_tls_loglevel: '1',
    relay_clientcerts: `texthash:${file('relay_clientcerts')}`,
    smtpd_relay_restrictions: 'permit_tls_clientcerts, reject_unauth_destination',
    smtpd_recipient_restrictions: 'permit_tls_clientcerts, reject',
    relayhost: `[127.0.0.1]:${options.nextHopPort}`,
    ...(nextHopTls
      ? {
          smtp_tls_security_level: 'secure',
          smtp_tls_secure_cert_match: nextHopTls.serverName,
          smtp_tls_servername: nextHopTls.serverName,
          smtp_tls_CAfile: file('next-hop-ca.pem'),
          smtp_tls_cert_file: file('client.pem'),
          smtp_tls_key_file: file('client.key'),
          smtp_tls_loglevel: '1',
        }
      : { smtp_tls_security_level: 'none' }),
    queue_run_delay: '60s',
    minimal_backoff_time: '60s',
    maximal_backoff_time: '120s',
    smtp_connect_timeout: '5s',
  };
  await writeFile(
    file('main.cf'),
    `${Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
    { mode: 0o644 },
  );
  await writeFile(file('master.cf'), masterCf(port), { mode: 0o644 });
  const postfix = (command: string) => run(POSTFIX, ['-c', configDir, command], { timeout: COMMAND_TIMEOUT_MS });
  const maillog = () => (existsSync(maillogFile) ? readFileSync(maillogFile, 'utf8') : '');
  await postfix('check');
  const dirs = { configDir, queueDir };
  let stopped = false;
  const receiver: PostfixReceiver = {
    port,
    maillog,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopInstance(dirs);
    },
  };
  try {
    await startInstance(dirs);
  } catch (err) {
    await receiver.stop().catch(() => undefined);
    throw new Error(`postfix start failed; maillog:\n${maillog()}`, { cause: err });
  }
  return receiver;
}
