import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';

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

function readConfigured(certFile: string, keyFile: string): TlsMaterial {
  const read = (key: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError([
        {
          key,
          source: 'configuration',
          value: path,
          problem: `cannot be read (${(err as NodeJS.ErrnoException).code})`,
          fix: 'give the path of a readable PEM file',
        },
      ]);
    }
  };
  const cert = read('tls.certFile', certFile);
  const key = read('tls.keyFile', keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError([
      {
        key: 'tls.keyFile',
        source: 'configuration',
        value: keyFile,
        problem: `does not fit tls.certFile: ${(err as Error).message}`,
        fix: 'give the private key that belongs to the certificate (PEM), and the certificate chain leaf first',
      },
    ]);
  }
  return { cert, key, generated: false, path: certFile };
}
