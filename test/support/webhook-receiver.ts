/**
 * The application's side of inbound webhooks: an HTTPS server on 127.0.0.1 with a certificate
 * from its own test CA, which checks every request's Standard Webhooks signature as a real
 * receiver would. Tests script its answer per request through `behaviour`.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../src/inbound/webhook-signature.js';
import { makeLeafCert, makeTestCa } from './certs.js';
import { waitFor } from './wait-for.js';

/** The fields of a `message.received` event the tests look at (src/inbound/webhook-payload.ts builds it). */
export interface InboundPayload {
  type: string;
  id: string;
  queueId: string;
  envelope: { mailFrom: string; recipients: string[] };
  authenticated: boolean;
  relay: {
    credentialId: string | null;
    domain: string | null;
    tlsVersion: string;
    tlsCipher: string | null;
    clientCertificate: { name: string; spkiSha256: string } | null;
  };
  authentication: { auth: unknown; spf: { result: string } };
  authenticationResults: string;
  subject: string;
  text: string;
  headers: { name: string; value: string }[];
  attachments: { filename: string; content?: string; url: string }[];
  rawUrl: string;
}

export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  payload: InboundPayload;
  /** The signature check with the secret the test set, at arrival. */
  signature: { ok: true } | { ok: false; problem: string };
  answered: number;
}

/** What to answer: a status (and optional JSON body), or 'hang' to never answer. */
export type WebhookBehaviour = () => { status: number; body?: unknown } | 'hang';

export interface WebhookReceiver {
  url: string;
  caCert: string;
  /** Every request, answered or not, in arrival order. */
  requests: ReceivedWebhook[];
  behaviour: WebhookBehaviour;
  /** Set once the gateway has shown it. */
  secret: string;
  waitForRequests(n: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost']);
  const hanging = new Set<() => void>();
  let server: Server | undefined;
  const receiver: WebhookReceiver = {
    url: '',
    caCert: ca.caCert,
    requests: [],
    behaviour: () => ({ status: 204 }),
    secret: '',
    waitForRequests: (n, timeoutMs = 20_000) => waitFor(() => (receiver.requests.length >= n ? receiver.requests : undefined), { timeoutMs }),
    async stop() {
      for (const release of hanging) release();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
  server = createServer({ key: leaf.key, cert: leaf.chain }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = receiver.behaviour();
      const signature = verifyWebhook(receiver.secret, request.headers, body, { nowSec: Math.floor(Date.now() / 1000) });
      let payload = {} as InboundPayload;
      try {
        payload = JSON.parse(body) as InboundPayload;
      } catch {}
      receiver.requests.push({ headers: request.headers, body, payload, signature, answered: answer === 'hang' ? 0 : answer.status });
      if (answer === 'hang') {
        hanging.add(() => response.destroy());
        return;
      }
      // A receiver refuses what it cannot verify, whatever the test scripted.
      if (!signature.ok) return response.writeHead(401).end();
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  receiver.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/mail`;
  return receiver;
}
