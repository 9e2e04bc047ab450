/**
 * src/smtp/gateway-connection.ts subclasses smtp-server's SMTPConnection and SMTPServer and
 * relies on members smtp-server does not document (the underscore ones, the handler_ methods,
 * the context strings of its own checks): any release may rename or change them, and the
 * budgets, limits and replies built on them would then quietly stop working. This pins each
 * one on the installed smtp-server, and that smtp-server still calls the methods the
 * gateway overrides, with a message naming what relies on it and what to check.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { openDialog } from './support/smtp-dialog.js';

const VERSION = (createRequire(import.meta.url)('smtp-server/package.json') as { version: string }).version;

function relied(member: string, use: string, problem: string): string {
  return (
    `smtp-server ${VERSION}: ${member} ${problem}. src/smtp/gateway-connection.ts relies on it: ${use}. ` +
    'On an upgrade, find what replaced it in node_modules/smtp-server/dist/esm/ and adapt GatewayConnection or GatewaySmtpServer.'
  );
}

/** Methods of SMTPConnection the gateway overrides or calls, and what for. */
const CONNECTION_METHODS: Record<string, string> = {
  init: 'GatewayConnection.init replaces it, to refuse a client over smtp.maxConnections and to greet without the 100 ms delay',
  _setListeners: 'GatewayConnection.init calls it with the callback that greets',
  connectionReady: 'GatewayConnection.init calls it to send the greeting',
  _onCommand: 'every command line passes through it: the refusal while draining and the DATA budget',
  handler_EHLO: 'the EHLO argument is checked before smtp-server takes it',
  handler_HELO: 'the HELO argument is checked before smtp-server takes it',
  handler_MAIL: 'MAIL FROM parameters are checked before smtp-server takes them',
  handler_RCPT: 'RCPT TO parameters are checked before smtp-server takes them',
  _armTimeout: 'called with the TLS socket of STARTTLS before its handshake, where the handshake deadline starts',
  send: 'every reply: enhanced codes kept, AUTH hidden before TLS, the command budget restarted',
  _onClose: 'the per-address connection slot is released there',
  close: 'the command and DATA budgets are cleared there',
};

/** Methods of SMTPServer the gateway overrides or calls. */
const SERVER_METHODS: Record<string, string> = {
  _acceptSocket: 'GatewaySmtpServer._acceptSocket: the per-address limit and the implicit TLS handshake deadline',
  connect: 'GatewaySmtpServer.connect makes a GatewayConnection the way smtp-server makes its own (compare the two on an upgrade)',
  _onError: 'GatewaySmtpServer.connect sends connection errors to it',
  _onClientConnect: 'GatewaySmtpServer.connect sends the connect event to it',
};

/** What the probe saw smtp-server do, filled in as the dialog runs. */
interface Seen {
  calls: Set<string>;
  accepted: { handshake: boolean; release: string }[];
  /** What _pendingSockets held for a raw socket when its guard was released. */
  topSockets: unknown[];
  /** `_upgrading`, and the socket's kind, at each _armTimeout on a socket other than the connection's own. */
  tlsArms: { upgrading: unknown; tls: boolean }[];
  sendContexts: unknown[];
  handlerPendingInMailFrom: unknown;
  /** The kinds of the fields the gateway reads, taken in the middle of a live session (at MAIL FROM). */
  fields: Record<string, string> | undefined;
  inData: { dataMode: unknown; dataStreamIsTheStream: boolean } | undefined;
  connection: ProbeConnection | undefined;
}

const seen: Seen = {
  calls: new Set(),
  accepted: [],
  topSockets: [],
  tlsArms: [],
  sendContexts: [],
  handlerPendingInMailFrom: undefined,
  fields: undefined,
  inData: undefined,
  connection: undefined,
};

/** Does what GatewayConnection does with each member, recording that smtp-server got there. */
class ProbeConnection extends SMTPConnection {
  override init(): void {
    this._setListeners(() => {
      seen.calls.add('_setListeners');
      this.connectionReady();
    });
  }
  override _onCommand(command: Buffer, callback?: () => void): void {
    seen.calls.add('_onCommand');
    super._onCommand(command, callback);
  }
  override handler_EHLO(command: Buffer, callback: () => void): void {
    seen.calls.add('handler_EHLO');
    super.handler_EHLO(command, callback);
  }
  override handler_HELO(command: Buffer, callback: () => void): void {
    seen.calls.add('handler_HELO');
    super.handler_HELO(command, callback);
  }
  override handler_MAIL(command: Buffer, callback: () => void): void {
    seen.calls.add('handler_MAIL');
    super.handler_MAIL(command, callback);
  }
  override handler_RCPT(command: Buffer, callback: () => void): void {
    seen.calls.add('handler_RCPT');
    super.handler_RCPT(command, callback);
  }
  override _armTimeout(socket: Socket = this._socket): void {
    seen.calls.add('_armTimeout');
    if (socket !== this._socket) seen.tlsArms.push({ upgrading: this._upgrading, tls: socket instanceof TLSSocket });
    super._armTimeout(socket);
  }
  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    seen.calls.add('send');
    seen.sendContexts.push(context);
    super.send(code, data, context);
  }
  override _onClose(): void {
    seen.calls.add('_onClose');
    super._onClose();
  }
  override close(): void {
    seen.calls.add('close');
    super.close();
  }
}

class ProbeServer extends SMTPServer {
  override _acceptSocket(socket: Socket, handshake: boolean): (() => void) | false {
    seen.calls.add('_acceptSocket');
    const release = super._acceptSocket(socket, handshake);
    seen.accepted.push({ handshake, release: typeof release });
    if (!release) return release;
    return () => {
      seen.topSockets.push(this._pendingSockets.get(socket));
      release();
    };
  }
  override connect(socket: Socket | TLSSocket, socketOptions?: ConstructorParameters<typeof SMTPConnection>[2]): void {
    seen.calls.add('connect');
    const connection = new ProbeConnection(this, socket, socketOptions);
    seen.connection ??= connection;
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => {
      seen.calls.add('the connect event');
      this._onClientConnect(data);
    });
    connection.init();
  }
}

/** What each field the gateway reads is, and what it should be. */
const FIELDS: Record<string, { expected: string; use: string }> = {
  _server: { expected: 'ProbeServer', use: 'the options and connections of the listener' },
  _socket: { expected: 'TLSSocket', use: 'the socket whose idle timer _armTimeout arms by default (the TLS one after STARTTLS)' },
  _upgrading: { expected: 'boolean', use: 'tells a STARTTLS handshake in progress in _armTimeout' },
  _handlerPending: { expected: 'boolean', use: 'time spent waiting for our handler is not the client’s command budget' },
  _dataStream: { expected: 'boolean', use: 'false outside DATA; inTransaction and the command budget' },
  _closing: { expected: 'boolean', use: 'no budget once closing' },
  _closed: { expected: 'boolean', use: 'no budget once closed' },
  _parser: { expected: 'SMTPStream', use: 'its _dataMode tells the DATA budget that DATA is still being read' },
  '_parser._dataMode': { expected: 'boolean', use: 'the DATA budget acts only in DATA mode' },
  secure: { expected: 'boolean', use: 'AUTH hidden and 530 reworded before TLS' },
  id: { expected: 'string', use: 'the session id in the refusal log' },
  remoteAddress: { expected: 'string', use: 'the client address of refusals' },
  'session.envelope': { expected: 'Object', use: 'mailFrom and smtpUtf8 of the transaction' },
};

function fieldKinds(connection: ProbeConnection): Record<string, string> {
  const parser = connection._parser;
  return {
    _server: kind(connection._server),
    _socket: kind(connection._socket),
    _upgrading: kind(connection._upgrading),
    _handlerPending: kind(connection._handlerPending),
    _dataStream: kind(connection._dataStream),
    _closing: kind(connection._closing),
    _closed: kind(connection._closed),
    _parser: kind(parser),
    '_parser._dataMode': parser === false ? 'absent' : kind(parser._dataMode),
    secure: kind(connection.secure),
    id: kind(connection.id),
    remoteAddress: kind(connection.remoteAddress),
    'session.envelope': kind(connection.session.envelope),
  };
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

test(`smtp-server ${VERSION}: the methods src/smtp/gateway-connection.ts overrides or calls are still functions on the prototypes`, () => {
  const prototypes = [
    ['SMTPConnection', SMTPConnection.prototype, CONNECTION_METHODS],
    ['SMTPServer', SMTPServer.prototype, SERVER_METHODS],
  ] as const;
  for (const [owner, prototype, methods] of prototypes) {
    for (const [name, use] of Object.entries(methods)) {
      const member = (prototype as unknown as Record<string, unknown>)[name];
      assert.equal(typeof member, 'function', relied(`${owner}#${name}`, use, `is ${kind(member)}, not a method`));
    }
  }
});

// A session with STARTTLS, MAIL, RCPT, DATA and QUIT, and an implicit TLS one, through a probe
// that uses each member as the gateway does.
describe(`smtp-server ${VERSION}: the members src/smtp/gateway-connection.ts relies on, in a session`, () => {
  let servers: ProbeServer[] = [];
  const listen = async (secure: boolean): Promise<number> => {
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['localhost']);
    const server = new ProbeServer({
      secure,
      key: leaf.key,
      cert: leaf.chain,
      authOptional: true,
      size: 1000,
      maxRecipients: 1,
      maxClients: 5,
      disableReverseLookup: true,
      logger: false,
      onMailFrom(_address, _session, callback) {
        seen.handlerPendingInMailFrom = seen.connection?._handlerPending;
        seen.fields = seen.connection && fieldKinds(seen.connection);
        callback();
      },
      onData(stream: SMTPServerDataStream, _session, callback) {
        const parser = seen.connection?._parser;
        seen.inData = { dataMode: parser ? parser._dataMode : parser, dataStreamIsTheStream: seen.connection?._dataStream === stream };
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.server.address() as AddressInfo).port;
  };

  before(async () => {
    const { dialog } = await openDialog(await listen(false));
    try {
      assert.match(await dialog.ehlo(), /^250/);
      await dialog.startTls({ servername: 'localhost' });
      assert.match(await dialog.send('HELO probe.localhost'), /^250/);
      assert.match(await dialog.send('MAIL FROM:<a@example.com> SIZE=5000'), /^552/);
      assert.match(await dialog.send('MAIL FROM:<a@example.com>'), /^250/);
      assert.match(await dialog.send('RCPT TO:<b@example.com>'), /^250/);
      assert.match(await dialog.send('RCPT TO:<c@example.com>'), /^452/);
      assert.match(await dialog.send('DATA'), /^354/);
      assert.match(await dialog.send('Subject: probe\r\n\r\nbody\r\n.'), /^250/);
      assert.match(await dialog.send('QUIT'), /^221/);
      await dialog.closed();
    } finally {
      dialog.close();
    }
    const implicit = await openDialog(await listen(true), { implicitTls: true });
    implicit.dialog.close();
    await implicit.dialog.closed();
  });

  after(async () => {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    servers = [];
  });

  test('smtp-server still calls each overridden method, so the overrides take effect', () => {
    const uses: Record<string, string | undefined> = {
      ...CONNECTION_METHODS,
      ...SERVER_METHODS,
      _setListeners: 'its callback greets the client (GatewayConnection.init)',
      'the connect event': 'GatewaySmtpServer.connect forwards it to _onClientConnect, which runs onConnect',
    };
    const calledBySmtpServer = [
      '_acceptSocket',
      'connect',
      '_setListeners',
      'the connect event',
      '_onCommand',
      'handler_EHLO',
      'handler_HELO',
      'handler_MAIL',
      'handler_RCPT',
      '_armTimeout',
      'send',
      '_onClose',
      'close',
    ];
    for (const name of calledBySmtpServer) {
      assert.ok(seen.calls.has(name), relied(name, uses[name] ?? '', 'was not called during a session with STARTTLS, MAIL, RCPT, DATA and QUIT'));
    }
  });

  test('a connection has the fields it reads, of the kinds it expects', () => {
    const fields = seen.fields;
    assert.ok(fields, relied('SMTPServer#onMailFrom', 'the probe looks at a live session there', 'was never called'));
    for (const [name, { expected, use }] of Object.entries(FIELDS)) {
      const actual: string | undefined = fields[name];
      assert.equal(actual, expected, relied(`SMTPConnection#${name}`, use, `is ${actual}, not ${expected}`));
    }
  });

  test('the fields mean what the gateway takes them to mean', () => {
    assert.deepEqual(
      seen.tlsArms,
      [{ upgrading: true, tls: true }],
      relied('SMTPConnection#_armTimeout', CONNECTION_METHODS._armTimeout ?? '', 'was not called once with the TLS socket while _upgrading'),
    );
    assert.equal(
      seen.handlerPendingInMailFrom,
      true,
      relied('SMTPConnection#_handlerPending', 'inTransaction and the command budget', 'is not true while onMailFrom runs'),
    );
    assert.deepEqual(
      seen.inData,
      { dataMode: true, dataStreamIsTheStream: true },
      relied(
        'SMTPConnection#_dataStream and _parser._dataMode',
        'inTransaction and the DATA budget',
        'do not hold the message stream and DATA mode while onData runs',
      ),
    );
    for (const context of ['MESSAGE_TOO_BIG', 'TOO_MANY_RECIPIENTS']) {
      assert.ok(
        seen.sendContexts.includes(context),
        relied(
          `send(…, '${context}')`,
          'GatewayConnection.send rewrites that reply as the gateway’s SmtpReply',
          'is no longer the context of smtp-server’s own check',
        ),
      );
    }
  });

  test('the server keeps its connections in a Set and the sockets it guards in a Map, the TLS socket on top once a handshake starts', () => {
    const server = servers[0];
    assert.ok(server);
    assert.equal(
      kind(server.connections),
      'Set',
      relied('SMTPServer#connections', 'counted against maxClients, and searched for a stalled STARTTLS handshake', `is ${kind(server.connections)}`),
    );
    assert.equal(
      kind(server._pendingSockets),
      'Map',
      relied('SMTPServer#_pendingSockets', 'the oldest implicit TLS handshake is dropped when the pool is full', `is ${kind(server._pendingSockets)}`),
    );
    assert.ok(server.server instanceof NetServer, relied('SMTPServer#server', 'drain() closes it to stop accepting', `is ${kind(server.server)}`));
    assert.equal(kind(server.options.maxClients), 'number', relied('SMTPServer#options.maxClients', 'the listener limit', 'is not the number given'));
    assert.equal(kind(server.options.size), 'number', relied('SMTPServer#options.size', 'the size in the 552 reply', 'is not the number given'));
    assert.deepEqual(
      seen.accepted,
      [
        { handshake: false, release: 'function' },
        { handshake: true, release: 'function' },
      ],
      relied(
        'SMTPServer#_acceptSocket',
        SERVER_METHODS._acceptSocket ?? '',
        'is not called once per socket with (socket, handshake) returning a release function',
      ),
    );
    assert.ok(
      seen.topSockets[1] instanceof TLSSocket,
      relied(
        'SMTPServer#_pendingSockets',
        'an implicit TLS handshake is aborted on its TLS socket (destroying the raw one crashes Node)',
        'does not hold the TLS socket once the handshake started',
      ),
    );
  });
});
