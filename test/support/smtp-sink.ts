/**
 * A local SMTP server that plays the organisation's smarthost or a remote MX.
 * Tests script its answers through `behaviour`, which is read at the moment
 * each command arrives, so a test can flip it between failure and success while
 * the gateway under test is retrying.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerError, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { makeLeafCert, makeTestCa } from './certs.js';
import { waitFor } from './wait-for.js';

export interface SinkMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  authUser?: string;
  secure: boolean;
  tlsProtocol?: string;
  /** MAIL FROM carried REQUIRETLS (RFC 8689). */
  requireTls?: boolean;
}

/**
 * Each hook returns a single-line SMTP reply such as '451 4.3.0 try later',
 * which reaches the client verbatim, or undefined for the normal answer.
 * A 2xx reply counts as acceptance (only its text is used, the code is always 250).
 */
export type SinkBehaviour = {
  /** Called per RCPT TO with the bare address. */
  rcpt?: (address: string) => string | undefined;
  /** Called once the whole message is in; undefined = 250. */
  data?: () => string | undefined;
  /** Called per MAIL FROM with the bare address ('' for the null sender). */
  mail?: (address: string) => string | undefined;
  /** Called on connect; an error reply replaces the greeting and the sink hangs up. */
  connect?: () => string | undefined;
};

export interface SmtpSink {
  port: number;
  host: string;
  /** Accepted messages only, in arrival order. */
  messages: SinkMessage[];
  /** Every TCP connection accepted, including ones refused by behaviour.connect. */
  connections: number;
  behaviour: SinkBehaviour;
  /**
   * Socket and protocol errors smtp-server reported (client resets, failed TLS
   * handshakes). Kept rather than thrown: a gateway hanging up is often the point of a test.
   */
  errors: Error[];
  /** Every AUTH the sink judged, in order (XOAUTH2 tokens as given, for tests of token refresh). */
  authAttempts: { method: string; user: string; accepted: boolean; accessToken?: string }[];
  /** The CA to trust when the sink minted its own certificate (TLS without `cert`). */
  caCert?: string;
  waitForMessages(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  /** Stops listening and destroys open connections. Safe to call twice. */
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Default 'none': a sink that needs no trust setup unless a test is about TLS. */
  tls?: 'starttls' | 'implicit' | 'none';
  /**
   * Certificate for TLS modes; minted from a fresh CA when omitted (see `caCert`).
   * Pass one explicitly to keep the same identity across a stop/restart.
   */
  cert?: { cert: string; key: string };
  /** When set, AUTH PLAIN/LOGIN is required and checked against these credentials. */
  auth?: { user: string; pass: string };
  /**
   * When set, AUTH XOAUTH2 is required (and the only mechanism offered), as Google's SMTP
   * relay does: a token `validToken` refuses gets Google's 334 error challenge, then 535.
   */
  oauth?: { user: string; validToken(accessToken: string): boolean };
  /** To restart on the port of a stopped sink, simulating an outage. Default: ephemeral. */
  port?: number;
  /** Name in the greeting and EHLO reply. */
  name?: string;
  /** Loopback address to listen on, e.g. 127.0.0.25 for an MX host of the DNSSEC lab. Default 127.0.0.1. */
  host?: string;
  /** Advertise REQUIRETLS (RFC 8689) after STARTTLS. */
  offerRequireTls?: boolean;
}

const HOST = '127.0.0.1';
const DEFAULT_WAIT_MS = 20_000;

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const mode = opts.tls ?? 'none';
  const auth = opts.auth;
  const oauth = opts.oauth;

  let tlsMaterial = opts.cert;
  let caCert: string | undefined;
  if (mode !== 'none' && tlsMaterial === undefined) {
    // Otherwise smtp-server falls back to its built-in certificate, whose key is public.
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['localhost']);
    tlsMaterial = { cert: leaf.chain, key: leaf.key };
    caCert = ca.caCert;
  }

  const tlsProtocols = new WeakMap<SMTPServerSession, string>();
  const rawSockets = new Set<Socket>();

  const sink: SmtpSink = {
    port: 0,
    host: opts.host ?? HOST,
    messages: [],
    connections: 0,
    behaviour: {},
    errors: [],
    authAttempts: [],
    ...(caCert === undefined ? {} : { caCert }),
    async waitForMessages(n, timeoutMs = DEFAULT_WAIT_MS) {
      try {
        await waitFor(() => sink.messages.length >= n, {
          timeoutMs,
          what: `${n} message(s) at the SMTP sink on port ${sink.port}`,
        });
      } catch (err) {
        const detail = `received ${sink.messages.length}, connections ${sink.connections}`;
        throw new Error(`${(err as Error).message} (${detail})`, { cause: err });
      }
      return sink.messages.slice();
    },
    stop: () => stopOnce(),
  };

  const options: SMTPServerOptions = {
    name: opts.name ?? 'sink.localhost',
    logger: false,
    // Reverse lookups would hit the system resolver; tests must stay off the network.
    disableReverseLookup: true,
    hideREQUIRETLS: !opts.offerRequireTls,
    secure: mode === 'implicit',
    ...(tlsMaterial === undefined ? {} : { key: tlsMaterial.key, cert: tlsMaterial.cert }),
    disabledCommands: [...(mode === 'none' ? ['STARTTLS'] : []), ...(auth || oauth ? [] : ['AUTH'])],
    authMethods: oauth ? ['XOAUTH2'] : ['PLAIN', 'LOGIN'],
    authOptional: !auth && !oauth,
    // Only a plaintext sink may take credentials in the clear; otherwise AUTH waits for TLS like a real MTA.
    allowInsecureAuth: mode === 'none',
    // stop() destroys sockets itself; this only bounds smtp-server's own fallback.
    closeTimeout: 1_000,

    onConnect(_session, callback) {
      callback(replyError(sink.behaviour.connect?.(), sink));
    },
    onSecure(socket, session, callback) {
      if (socket instanceof TLSSocket) {
        const protocol = socket.getProtocol();
        if (protocol) tlsProtocols.set(session, protocol);
      }
      callback();
    },
    onAuth(authData, _session, callback) {
      if (oauth && authData.method === 'XOAUTH2') {
        const accessToken = authData.accessToken ?? '';
        const accepted = authData.username === oauth.user && oauth.validToken(accessToken);
        sink.authAttempts.push({ method: 'XOAUTH2', user: authData.username ?? '', accepted, accessToken });
        // Google's answer to a bad token (its SMTP relay, and smtp-server's default): 334 with the error JSON, then 535.
        if (accepted) callback(null, { user: authData.username ?? '' });
        else callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
        return;
      }
      sink.authAttempts.push({
        method: authData.method,
        user: authData.username ?? '',
        accepted: Boolean(auth && authData.username === auth.user && authData.password === auth.pass),
      });
      if (auth && authData.username === auth.user && authData.password === auth.pass) {
        callback(null, { user: authData.username });
        return;
      }
      callback(smtpError(535, '5.7.8 authentication credentials invalid'));
    },
    onMailFrom(address, _session, callback) {
      callback(replyError(sink.behaviour.mail?.(address.address), sink));
    },
    onRcptTo(address, _session, callback) {
      callback(replyError(sink.behaviour.rcpt?.(address.address), sink));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', (err) => callback(err));
      stream.once('end', () => {
        // Decided at end of DATA, so a behaviour flipped mid-transfer still applies.
        const reply = sink.behaviour.data?.();
        const err = replyError(reply, sink);
        if (err) {
          callback(err);
          return;
        }
        const { mailFrom, rcptTo } = session.envelope;
        const message: SinkMessage = {
          mailFrom: mailFrom === false ? '' : mailFrom.address,
          rcptTo: rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        if (typeof session.user === 'string') message.authUser = session.user;
        const protocol = tlsProtocols.get(session);
        if (protocol !== undefined) message.tlsProtocol = protocol;
        if (session.envelope.requireTLS) message.requireTls = true;
        sink.messages.push(message);
        callback(null, reply === undefined ? undefined : acceptText(reply));
      });
    },
  };

  const server = new SMTPServer(options);
  // Without a listener, a client reset would be an unhandled 'error' and kill the test process.
  server.on('error', (err) => sink.errors.push(err));
  server.server.on('connection', (socket: Socket) => {
    sink.connections++;
    rawSockets.add(socket);
    socket.once('close', () => rawSockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(opts.port ?? 0, sink.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('SMTP sink has no TCP address');
  sink.port = address.port;

  let stopping: Promise<void> | undefined;
  function stopOnce(): Promise<void> {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Topmost sockets first: a TLS socket is torn down before the TCP socket beneath it.
      for (const connection of server.connections) connection._socket.destroy();
      for (const socket of rawSockets) socket.destroy();
    });
    return stopping;
  }

  return sink;
}

function smtpError(code: number, text: string): SMTPServerError {
  const err: SMTPServerError = new Error(text);
  err.responseCode = code;
  return err;
}

const REPLY = /^([2-5]\d\d)(?: (.*))?$/;

/**
 * smtp-server writes `${responseCode} ${message}` and, with the default
 * hideENHANCEDSTATUSCODES, adds no enhanced code of its own, so splitting the
 * scripted reply at the first space reproduces it byte for byte.
 */
function replyError(reply: string | undefined, sink: SmtpSink): SMTPServerError | null {
  if (reply === undefined) return null;
  const match = REPLY.exec(reply);
  if (!match?.[1]) {
    // Throwing here would escape into smtp-server's parser; a visible 451 fails the test instead.
    const err = new Error(`invalid SinkBehaviour reply ${JSON.stringify(reply)}`);
    sink.errors.push(err);
    return smtpError(451, err.message);
  }
  const code = Number(match[1]);
  if (code < 400) return null;
  return smtpError(code, match[2] ?? '');
}

function acceptText(reply: string): string | undefined {
  const text = REPLY.exec(reply)?.[2];
  return text === undefined || text === '' ? undefined : text;
}

/** A sink that refuses every connection until `open()`: what the gateway accepted stays queued meanwhile. */
export async function closedSink(): Promise<{ sink: SmtpSink; open(): void; tags(): string[] }> {
  const sink = await startSmtpSink({ tls: 'none' });
  sink.behaviour.connect = () => '421 4.3.2 not yet';
  return {
    sink,
    open: () => {
      sink.behaviour.connect = undefined;
    },
    tags: () => sink.messages.map((m) => /X-Tag: (\S+)/.exec(m.raw.toString())?.[1] ?? '?'),
  };
}
