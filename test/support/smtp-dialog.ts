/**
 * A raw SMTP client for tests that must provoke protocol errors or assert
 * whole replies, which a real client library would hide or refuse to send.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';

export interface SmtpDialog {
  /** Next complete reply; multi-line replies joined with \n, e.g. '250-foo\n250 bar'. */
  read(): Promise<string>;
  /** Writes line + CRLF and returns the next reply. */
  send(line: string): Promise<string>;
  /** Raw bytes, no CRLF added: for pipelining, bare LFs, partial lines. */
  write(raw: string | Buffer): void;
  /** Sends STARTTLS, expects 220, and upgrades the connection; `cert` and `key` (PEM) present a client certificate. */
  startTls(opts?: { ca?: string; servername?: string; cert?: string; key?: string }): Promise<void>;
  ehlo(name?: string): Promise<string>;
  authPlain(user: string, pass: string): Promise<string>;
  /** Resolves once the connection is closed (by the server, or by close()). */
  closed(): Promise<void>;
  close(): void;
  tlsSocket?: TLSSocket;
}

export interface OpenDialogOptions {
  implicitTls?: boolean;
  /** Trust anchor; when given, the server certificate is verified. */
  ca?: string;
  host?: string;
  /** The client's source address, e.g. 127.0.0.2 to be another loopback client. */
  localAddress?: string;
  /** How long read() waits for a reply before rejecting, so a silent server fails the test instead of hanging it. */
  replyTimeoutMs?: number;
}

const DEFAULT_REPLY_TIMEOUT_MS = 20_000;

// Three digits, then '-' (more lines follow), ' ' or end of line (last line).
const REPLY_LINE = /^(\d{3})([- ]|$)/;

interface Waiter {
  settle(result: string | Error): void;
}

/** Buffers bytes until whole replies are available and hands them to waiting readers. */
class ReplyReader {
  private readonly timeoutMs: number;
  private decoder = new StringDecoder('utf8');
  private text = '';
  private pendingLines: string[] = [];
  private replies: string[] = [];
  private waiters: Waiter[] = [];
  private endReason: string | undefined;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  push(chunk: Buffer): void {
    this.text += this.decoder.write(chunk);
    for (;;) {
      const eol = this.text.indexOf('\n');
      if (eol === -1) break;
      const line = this.text.slice(0, eol).replace(/\r$/, '');
      this.text = this.text.slice(eol + 1);
      this.pendingLines.push(line);
      const match = REPLY_LINE.exec(line);
      // A malformed line ends the reply too, so a test sees the garbage rather than hanging.
      if (match?.[2] !== '-') this.deliver(this.pendingLines.splice(0).join('\n'));
    }
  }

  /** Forgets unread plaintext: nothing received before STARTTLS may be trusted after it. */
  discard(): void {
    this.decoder = new StringDecoder('utf8');
    this.text = '';
    this.pendingLines = [];
    this.replies = [];
  }

  end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    for (const waiter of this.waiters.splice(0)) waiter.settle(this.endError());
  }

  read(): Promise<string> {
    const reply = this.replies.shift();
    if (reply !== undefined) return Promise.resolve(reply);
    if (this.endReason !== undefined) return Promise.reject(this.endError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        settle: (result) => {
          clearTimeout(timer);
          if (typeof result === 'string') resolve(result);
          else reject(result);
        },
      };
      const timer = setTimeout(() => {
        // Drop the waiter so a late reply is queued for the next read() instead of lost.
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.settle(new Error(`timed out after ${this.timeoutMs}ms waiting for an SMTP reply; ${this.soFar()}`));
      }, this.timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private deliver(reply: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.settle(reply);
    else this.replies.push(reply);
  }

  private endError(): Error {
    return new Error(`${this.endReason} before a complete reply; ${this.soFar()}`);
  }

  private soFar(): string {
    const partial = [...this.pendingLines, this.text].filter((s) => s !== '').join('\n');
    return `received so far: ${JSON.stringify(partial)}`;
  }
}

export async function openDialog(port: number, opts: OpenDialogOptions = {}): Promise<{ dialog: SmtpDialog; greeting: string }> {
  const host = opts.host ?? '127.0.0.1';
  const reader = new ReplyReader(opts.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS);
  let socket: Socket;
  let tlsSocket: TLSSocket | undefined;
  let lastError: Error | undefined;
  let isClosed = false;
  let notifyClosed: () => void = () => {};
  const closedPromise = new Promise<void>((resolve) => {
    notifyClosed = resolve;
  });

  const onData = (chunk: Buffer) => reader.push(chunk);
  const onError = (err: Error) => {
    lastError = err;
  };
  const onClose = () => {
    isClosed = true;
    reader.end(`connection closed${lastError ? ` (${lastError.message})` : ''}`);
    notifyClosed();
  };
  const attach = (s: Socket) => {
    s.on('data', onData);
    s.on('error', onError);
    s.once('close', onClose);
  };

  if (opts.implicitTls) {
    tlsSocket = await handshake(tlsConnect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}), ...trustOptions(opts.ca) }));
    socket = tlsSocket;
  } else {
    socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
  }
  attach(socket);

  const dialog: SmtpDialog = {
    read: () => reader.read(),
    send(line) {
      const reply = reader.read();
      socket.write(`${line}\r\n`);
      return reply;
    },
    write(raw) {
      socket.write(raw);
    },
    async startTls(tlsOpts = {}) {
      const reply = await dialog.send('STARTTLS');
      if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
      const plain = socket;
      plain.off('data', onData);
      plain.off('close', onClose);
      reader.discard();
      const upgrading = tlsConnect({
        socket: plain,
        // Without a servername Node checks the certificate against the dialled address.
        ...(tlsOpts.servername === undefined ? { host } : { servername: tlsOpts.servername }),
        ...trustOptions(tlsOpts.ca),
        ...(tlsOpts.cert && tlsOpts.key ? { cert: tlsOpts.cert, key: tlsOpts.key } : {}),
      });
      // Attached before the handshake so a failed one still settles read() and closed().
      attach(upgrading);
      socket = upgrading;
      const upgraded = await handshake(upgrading);
      tlsSocket = upgraded;
      dialog.tlsSocket = upgraded;
    },
    ehlo: (name = 'dialog.localhost') => dialog.send(`EHLO ${name}`),
    authPlain: (user, pass) => dialog.send(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`),
    closed: () => closedPromise,
    close() {
      if (!isClosed) socket.destroy();
    },
    ...(tlsSocket === undefined ? {} : { tlsSocket }),
  };

  let greeting: string;
  try {
    greeting = await reader.read();
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return { dialog, greeting };
}

function trustOptions(ca: string | undefined): ConnectionOptions {
  // Without a CA the test is about SMTP, not PKI, so any certificate will do.
  return ca === undefined ? { rejectUnauthorized: false } : { ca, rejectUnauthorized: true };
}

function handshake(socket: TLSSocket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
