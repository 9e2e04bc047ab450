/**
 * A local OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) over HTTPS, playing
 * Entra ID or Google: it checks the client id and secret in the form body, issues random
 * tokens with `expiresInS`, counts the grants and says which tokens are current, so that an
 * SMTP sink can accept only those (`validToken`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCa } from './certs.js';
import { makeLeafCert } from './certs.js';

export interface TokenServerOptions {
  clientId: string;
  clientSecret: string;
  /** Signed by this CA (for 127.0.0.1 and localhost); the gateway must trust it. */
  ca: TestCa;
  expiresInS?: number;
}

export interface TokenServer {
  /** https://127.0.0.1:PORT/token */
  url: string;
  /** Successful grants so far. */
  grants: number;
  /** Every request's form fields, for assertions on what the client sent. */
  requests: Record<string, string>[];
  expiresInS: number;
  /** The next grants issue tokens that validToken refuses (a token revoked at the provider). */
  issueRevoked: number;
  validToken(accessToken: string): boolean;
  /** Every token issued so far stops being valid. */
  revokeAll(): void;
  stop(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const leaf = await makeLeafCert(options.ca, ['localhost']);
  const valid = new Set<string>();
  const state: TokenServer = {
    url: '',
    grants: 0,
    requests: [],
    expiresInS: options.expiresInS ?? 3600,
    issueRevoked: 0,
    validToken: (token) => valid.has(token),
    revokeAll: () => valid.clear(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer({ cert: leaf.chain, key: leaf.key }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      state.requests.push(form);
      const answer = (status: number, body: Record<string, unknown>) => {
        response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify(body));
      };
      if (request.method !== 'POST' || request.url !== '/token') return answer(404, { error: 'not_found' });
      if (form.grant_type !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
      if (form.client_id !== options.clientId || form.client_secret !== options.clientSecret) {
        return answer(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      const accessToken = `tok-${randomBytes(18).toString('base64url')}`;
      if (state.issueRevoked > 0) state.issueRevoked--;
      else valid.add(accessToken);
      state.grants++;
      answer(200, { token_type: 'Bearer', access_token: accessToken, expires_in: state.expiresInS });
    });
  });
  // Keep-alive sockets would hold stop() open; each grant is its own connection here.
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return state;
}
