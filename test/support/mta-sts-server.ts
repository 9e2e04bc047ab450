/**
 * An HTTPS server for MTA-STS policies (RFC 8461 §3.3) on a loopback address and an
 * ephemeral port: the gateway reaches it through `delivery.mtaStsPort` and trusts its CA
 * through `delivery.caFile`. It answers by Host header; a host it has no entry for gets 404.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type LeafCert, makeLeafCert, makeTestCa } from './certs.js';

export interface PolicyAnswer {
  status?: number;
  contentType?: string;
  body: string;
  headers?: Record<string, string>;
}

export interface MtaStsServer {
  port: number;
  /** The CA's PEM in a file, for `delivery.caFile`. */
  caFile: string;
  /** Every request seen, as `host path`. */
  requests: string[];
  set(host: string, answer: PolicyAnswer): void;
  stop(): Promise<void>;
}

/** `hosts` are the names the certificate covers, e.g. ['mta-sts.example.test']. */
export async function startMtaStsServer(dir: string, hosts: string[], address = '127.0.0.1', leaf?: LeafCert): Promise<MtaStsServer> {
  const ca = await makeTestCa();
  const cert = leaf ?? (await makeLeafCert(ca, hosts));
  const caFile = join(dir, 'mta-sts-ca.pem');
  await writeFile(caFile, ca.caCert);
  const answers = new Map<string, PolicyAnswer>();
  const requests: string[] = [];
  const server = createServer({ key: cert.key, cert: cert.chain }, (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    requests.push(`${host} ${request.url}`);
    const answer = request.url === '/.well-known/mta-sts.txt' ? answers.get(host) : undefined;
    if (!answer) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    response.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'text/plain', ...answer.headers }).end(answer.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    caFile,
    requests,
    set: (host, answer) => answers.set(host.toLowerCase(), answer),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A policy file (RFC 8461 §3.2). */
export function policyText(mode: 'enforce' | 'testing' | 'none', mx: string[], maxAgeSeconds = 604_800): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((host) => `mx: ${host}`), `max_age: ${maxAgeSeconds}`, ''].join('\r\n');
}
