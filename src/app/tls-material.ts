import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import { errnoInWords } from '../lib/system-error.js';
import { runningUser } from './environment-error.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** True when the gateway made the certificate itself: clients will not trust it. */
  generated: boolean;
  path: string;
}

/**
 * The configured certificate, or a development certificate generated into the data
 * directory on first start (and again when it has expired). ECDSA P-256: a server
 * handshake costs a fraction of RSA-2048's, which matters with one connection per message.
 */
export async function loadTlsMaterial(config: Config): Promise<TlsMaterial> {
  if (config.tls.certFile && config.tls.keyFile) return readConfigured(config.tls.certFile, config.tls.keyFile);
  const dir = join(config.dataDir, 'tls');
  const certPath = join(dir, 'dev-cert.pem');
  const keyPath = join(dir, 'dev-key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (new Date(new X509Certificate(cert).validTo) > new Date()) return { cert, key: readFileSync(keyPath, 'utf8'), generated: true, path: certPath };
  }
  // Loaded only to make the certificate: selfsigned and its X.509 stack are ~15 MB of resident size.
  const { generate } = await import('selfsigned');
  const now = new Date();
  const generated = await generate([{ name: 'commonName', value: config.hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 3_600_000),
    notAfterDate: new Date(now.getTime() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: config.hostname },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, generated.private, { mode: 0o600 });
  writeFileSync(certPath, generated.cert, { mode: 0o644 });
  return { cert: generated.cert, key: generated.private, generated: true, path: certPath };
}

const SETTINGS = {
  'tls.certFile': { env: 'RELAYGATE_TLS_CERT', what: 'the certificate (PEM, leaf first, then the intermediates)' },
  'tls.keyFile': { env: 'RELAYGATE_TLS_KEY', what: 'its private key (PEM)' },
  'inbound.clientCa': { env: 'RELAYGATE_INBOUND_CLIENT_CA', what: "the CA certificates (PEM) that issue your mail servers' client certificates" },
} as const;
type TlsKey = keyof typeof SETTINGS;

function tlsProblem(key: TlsKey, path: string, problem: string, fix: string): ConfigError {
  return new ConfigError([{ key, source: `environment variable ${SETTINGS[key].env} or the configuration file`, value: path, problem, fix }]);
}

function readPem(key: TlsKey, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? `let the user running relaygate (${runningUser()}) read it, e.g. chgrp relaygate ${path} && chmod 640 ${path}`
        : `set ${SETTINGS[key].env} to the path of ${SETTINGS[key].what}`;
    throw tlsProblem(key, path, `cannot be read: ${errnoInWords(code)}`, fix);
  }
}

/**
 * The trust anchors of client certificates on the relay port (inbound.clientCa), read and
 * parsed before any listener starts; undefined when unset: the system store then.
 */
export function loadClientCa(config: Config): string | undefined {
  const path = config.inbound.clientCa;
  if (path === undefined) return undefined;
  const pem = readPem('inbound.clientCa', path);
  try {
    new X509Certificate(pem);
  } catch {
    throw tlsProblem(
      'inbound.clientCa',
      path,
      'is not a PEM certificate (no -----BEGIN CERTIFICATE----- block that parses)',
      `set RELAYGATE_INBOUND_CLIENT_CA to ${SETTINGS['inbound.clientCa'].what}`,
    );
  }
  return pem;
}

/**
 * The operator's certificate and key, each proven before any listener starts: readable, PEM,
 * and the key the one the certificate was issued for.
 */
function readConfigured(certFile: string, keyFile: string): TlsMaterial {
  const cert = readPem('tls.certFile', certFile);
  const key = readPem('tls.keyFile', keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw tlsProblem(
      'tls.certFile',
      certFile,
      'is not a PEM certificate (no -----BEGIN CERTIFICATE----- block that parses)',
      `set RELAYGATE_TLS_CERT to ${SETTINGS['tls.certFile'].what}`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw tlsProblem(
      'tls.keyFile',
      keyFile,
      'is not a PEM private key (no -----BEGIN … PRIVATE KEY----- block that parses, or it is encrypted)',
      `set RELAYGATE_TLS_KEY to ${SETTINGS['tls.keyFile'].what}, unencrypted`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw tlsProblem(
      'tls.keyFile',
      keyFile,
      `does not belong to the certificate in ${certFile} (${leaf.subject.replaceAll('\n', ', ')})`,
      `give the key the certificate was issued for: openssl x509 -noout -pubkey -in ${certFile} and openssl pkey -pubout -in ${keyFile} print the same`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw tlsProblem(
      'tls.keyFile',
      keyFile,
      `cannot be used with tls.certFile: ${(err as Error).message}`,
      'give the certificate chain leaf first, and the key of the leaf',
    );
  }
  return { cert, key, generated: false, path: certFile };
}
