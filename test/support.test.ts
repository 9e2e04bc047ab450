/**
 * Self-test for the shared test-support library: every helper is exercised
 * against real sockets so the suites that rely on them can trust them.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServer as createTlsServer, TLSSocket, connect as tlsConnect } from 'node:tls';
import { createTransport } from 'nodemailer';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { freePort } from './support/free-port.js';
import { openDialog } from './support/smtp-dialog.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { tempDir } from './support/temp-dir.js';
import { sleep, waitFor } from './support/wait-for.js';

const USER = 'relay';
const PASS = 's3cret';

// --- wait-for ---------------------------------------------------------------

test('waitFor retries until the check returns a truthy value', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? 'ready' : 0), { intervalMs: 5, what: 'three calls' });
  assert.equal(value, 'ready');
  assert.equal(calls, 3);
});

test('waitFor times out naming what it waited for and the last error', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('still broken');
      },
      { timeoutMs: 100, intervalMs: 10, what: 'the widget' },
    ),
    { message: 'timed out after 100ms waiting for the widget; last error: still broken' },
  );
});

test('waitFor does not hang on a check that never settles', async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 100 }),
    {
      message: 'timed out after 100ms waiting for condition',
    },
  );
  assert.ok(Date.now() - started < 5_000);
});

// --- temp-dir ---------------------------------------------------------------

test('tempDir creates a private directory under os.tmpdir() and cleanup removes it', async () => {
  const dir = await tempDir('support-selftest-');
  try {
    assert.ok(dir.path.startsWith(join(tmpdir(), 'support-selftest-')), dir.path);
    await writeFile(join(dir.path, 'f.txt'), 'x');
    assert.ok((await stat(dir.path)).isDirectory());
  } finally {
    await dir.cleanup();
  }
  await assert.rejects(stat(dir.path), { code: 'ENOENT' });
  await dir.cleanup(); // idempotent: cleanup runs from finally blocks
});

// --- free-port --------------------------------------------------------------

test('freePort returns a loopback port that can be bound straight away', async () => {
  const port = await freePort();
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536, String(port));
  const server = createNetServer();
  await listen(server, port);
  try {
    assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port });
  } finally {
    await closeServer(server);
  }
});

// --- certs ------------------------------------------------------------------

test('makeLeafCert issues an ECDSA P-256 leaf for the names and 127.0.0.1', async () => {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost', 'mx.example.test']);
  const caX509 = new X509Certificate(ca.caCert);
  const leafX509 = new X509Certificate(leaf.cert);

  assert.ok(leafX509.checkIssued(caX509));
  assert.ok(caX509.ca);
  assert.ok(!leafX509.ca);
  assert.equal(leafX509.subjectAltName, 'DNS:localhost, DNS:mx.example.test, IP Address:127.0.0.1');
  assert.equal(leafX509.publicKey.asymmetricKeyType, 'ec');
  assert.equal(leafX509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const now = Date.now();
  assert.ok(Date.parse(leafX509.validFrom) <= now && now < Date.parse(leafX509.validTo));
  assert.ok(leafX509.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(leaf.key))));

  assert.equal(leaf.chain, leaf.cert + ca.caCert);
  assert.equal(leaf.chain.match(/-----END CERTIFICATE-----\n/g)?.length, 2);
  for (const pem of [leaf.cert, leaf.key, ca.caCert, ca.caKey]) assert.ok(pem.endsWith('-----\n'));
});

test('a TLS server with the leaf is trusted via the CA and rejected without it', async () => {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost']);
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ key: leaf.key, cert: leaf.chain }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.end('hello\n');
  });
  server.on('tlsClientError', () => {});
  await listen(server, 0);
  try {
    const port = portOf(server);
    const good = await tlsHandshake({ port, ca: ca.caCert, servername: 'localhost' });
    assert.equal(good.authorized, true);
    good.destroy();

    const otherCa = await makeTestCa();
    await assert.rejects(tlsHandshake({ port, ca: otherCa.caCert, servername: 'localhost' }), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    await assert.rejects(tlsHandshake({ port, ca: ca.caCert, servername: 'other.example.test' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  } finally {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  }
});

test('makeLeafCert honours an explicit validity window', async () => {
  const ca = await makeTestCa();
  const expired = await makeLeafCert(ca, ['localhost'], {
    notBefore: new Date(Date.now() - 3 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  assert.ok(Date.parse(new X509Certificate(expired.cert).validTo) < Date.now());
});

// --- smtp-sink ----------------------------------------------------------------

test('sink with STARTTLS + AUTH receives a message from nodemailer', async (t) => {
  const sink = await startSmtpSink({ tls: 'starttls', auth: { user: USER, pass: PASS } });
  t.after(() => sink.stop());
  assert.ok(sink.caCert, 'a sink that mints its own certificate exposes its CA');

  const transport = createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    requireTLS: true,
    auth: { user: USER, pass: PASS },
    tls: { ca: sink.caCert },
    name: 'client.localhost',
  });
  t.after(() => transport.close());
  const info = await transport.sendMail({
    from: 'app@example.test',
    to: 'someone@example.test',
    subject: 'hello sink',
    text: 'body text',
  });
  assert.deepEqual(info.accepted, ['someone@example.test']);

  const [message] = await sink.waitForMessages(1);
  assert.ok(message);
  assert.equal(message.mailFrom, 'app@example.test');
  assert.deepEqual(message.rcptTo, ['someone@example.test']);
  assert.equal(message.authUser, USER);
  assert.equal(message.secure, true);
  assert.match(message.tlsProtocol ?? '', /^TLSv1\.[23]$/);
  assert.match(message.raw.toString(), /^Subject: hello sink\r$/m);
  assert.equal(sink.connections, 1);

  const wrongPassword = createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    requireTLS: true,
    auth: { user: USER, pass: 'wrong' },
    tls: { ca: sink.caCert },
  });
  t.after(() => wrongPassword.close());
  await assert.rejects(wrongPassword.sendMail({ from: 'a@example.test', to: 'b@example.test', text: 'x' }), {
    code: 'EAUTH',
    responseCode: 535,
  });
  assert.equal(sink.messages.length, 1);
});

test('sink over implicit TLS records the TLS session', async (t) => {
  const sink = await startSmtpSink({ tls: 'implicit' });
  t.after(() => sink.stop());
  const transport = createTransport({ host: sink.host, port: sink.port, secure: true, tls: { ca: sink.caCert } });
  t.after(() => transport.close());
  await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: 'x' });
  const [message] = await sink.waitForMessages(1);
  assert.equal(message?.secure, true);
  assert.match(message?.tlsProtocol ?? '', /^TLSv1\.[23]$/);
  assert.equal(message?.authUser, undefined);
});

test('sink rejects one recipient with the exact scripted reply and accepts another', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  sink.behaviour.rcpt = (address) => (address === 'ghost@example.test' ? '550 5.1.1 no such user' : undefined);

  const transport = createTransport({ host: sink.host, port: sink.port, secure: false });
  t.after(() => transport.close());
  const info = await transport.sendMail({
    from: 'app@example.test',
    to: ['ghost@example.test', 'real@example.test'],
    text: 'x',
  });
  assert.deepEqual(info.rejected, ['ghost@example.test']);
  assert.deepEqual(info.accepted, ['real@example.test']);
  assert.equal(info.rejectedErrors?.[0]?.response, '550 5.1.1 no such user');
  const [message] = await sink.waitForMessages(1);
  assert.deepEqual(message?.rcptTo, ['real@example.test']);
  assert.equal(message?.secure, false);
});

test('a scripted 451 at end of DATA surfaces as responseCode 451, then a flip accepts', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  sink.behaviour = { data: () => '451 4.3.0 try later' };

  const transport = createTransport({ host: sink.host, port: sink.port, secure: false });
  t.after(() => transport.close());
  const mail = { from: 'app@example.test', to: 'user@example.test', text: 'x' };
  await assert.rejects(transport.sendMail(mail), { responseCode: 451, response: '451 4.3.0 try later' });
  assert.equal(sink.messages.length, 0, 'a refused message is not recorded');

  sink.behaviour.data = () => '250 2.0.0 queued as ABC123';
  const info = await transport.sendMail(mail);
  assert.equal(info.response, '250 2.0.0 queued as ABC123');
  await sink.waitForMessages(1);
});

test('sink can be stopped and restarted on the same port', async (t) => {
  const first = await startSmtpSink();
  const port = first.port;
  await first.stop();
  await first.stop(); // idempotent, so tests can stop in the body and again in cleanup
  await assert.rejects(openDialog(port), { code: 'ECONNREFUSED' });

  let second: SmtpSink | undefined = await startSmtpSink({ port });
  t.after(() => second?.stop());
  assert.equal(second.port, port);
  const transport = createTransport({ host: '127.0.0.1', port, secure: false });
  t.after(() => transport.close());
  await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: 'after outage' });
  const [message] = await second.waitForMessages(1);
  assert.match(message?.raw.toString() ?? '', /after outage/);
  assert.equal(first.messages.length, 0);
  await second.stop();
  second = undefined;
});

test('stop() destroys open connections, including TLS ones, without a goodbye', async () => {
  const sink = await startSmtpSink({ tls: 'starttls' });
  const plain = await openDialog(sink.port);
  const secure = await openDialog(sink.port);
  try {
    await secure.dialog.ehlo();
    await secure.dialog.startTls({ ca: sink.caCert });
    await secure.dialog.ehlo();
    const plainRead = plain.dialog.read();
    const secureRead = secure.dialog.read();
    await sink.stop();
    // smtp-server's own shutdown would send 421 after closeTimeout; a destroyed socket sends nothing.
    await assert.rejects(plainRead, /^Error: connection closed/);
    await assert.rejects(secureRead, /^Error: connection closed/);
    await plain.dialog.closed();
    await secure.dialog.closed();
  } finally {
    plain.dialog.close();
    secure.dialog.close();
    await sink.stop();
  }
});

test('sink counts connections it refuses with behaviour.connect', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  sink.behaviour.connect = () => '421 4.3.2 too busy';
  const { dialog, greeting } = await openDialog(sink.port);
  t.after(() => dialog.close());
  assert.equal(greeting, '421 4.3.2 too busy');
  await dialog.closed();
  assert.equal(sink.connections, 1);
});

test('waitForMessages rejects with a clear message on timeout', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  await assert.rejects(sink.waitForMessages(1, 100), {
    message: `timed out after 100ms waiting for 1 message(s) at the SMTP sink on port ${sink.port} (received 0, connections 0)`,
  });
});

// --- smtp-dialog --------------------------------------------------------------

test('dialog: EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL/RCPT/DATA against the sink', async (t) => {
  const sink = await startSmtpSink({ tls: 'starttls', auth: { user: USER, pass: PASS }, name: 'mx.localhost' });
  t.after(() => sink.stop());
  const { dialog, greeting } = await openDialog(sink.port);
  t.after(() => dialog.close());

  assert.equal(greeting, '220 mx.localhost ESMTP');
  const plainEhlo = (await dialog.ehlo('client.localhost')).split('\n');
  assert.equal(plainEhlo[0], '250-mx.localhost Nice to meet you, [127.0.0.1]');
  assert.equal(plainEhlo.at(-1), '250 STARTTLS');
  assert.equal(await dialog.authPlain(USER, PASS), '538 Error: Must issue a STARTTLS command first');

  assert.equal(dialog.tlsSocket === undefined, true, 'no TLS socket before STARTTLS');
  await dialog.startTls({ ca: sink.caCert, servername: 'localhost' });
  assert.equal(dialog.tlsSocket?.authorized, true);
  const tlsProtocol = dialog.tlsSocket?.getProtocol(); // null once the socket is closed
  assert.equal(
    await dialog.ehlo('client.localhost'),
    ['250-mx.localhost Nice to meet you, [127.0.0.1]', '250-PIPELINING', '250-8BITMIME', '250-SMTPUTF8', '250 AUTH PLAIN LOGIN'].join('\n'),
  );
  assert.match(await dialog.authPlain(USER, 'nope'), /^535 /);
  const authReply = await dialog.authPlain(USER, PASS);
  assert.ok(authReply.startsWith('235'), authReply);
  assert.equal(authReply, '235 Authentication successful');

  sink.behaviour.rcpt = (address) => (address.startsWith('nobody@') ? '550 5.1.1 no such user' : undefined);
  assert.equal(await dialog.send('MAIL FROM:<app@example.test>'), '250 Accepted');
  assert.equal(await dialog.send('RCPT TO:<nobody@example.test>'), '550 5.1.1 no such user');
  assert.equal(await dialog.send('RCPT TO:<user@example.test>'), '250 Accepted');
  assert.equal(await dialog.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  dialog.write('Subject: raw\r\n\r\nline one\r\n');
  assert.equal(await dialog.send('.'), '250 OK: message queued');
  assert.equal(await dialog.send('QUIT'), '221 Bye');
  await dialog.closed();

  const [message] = await sink.waitForMessages(1);
  assert.deepEqual(
    { ...message, raw: message?.raw.toString() },
    {
      mailFrom: 'app@example.test',
      rcptTo: ['user@example.test'],
      raw: 'Subject: raw\r\n\r\nline one\r\n',
      authUser: USER,
      secure: true,
      tlsProtocol,
    },
  );
});

test('dialog: implicit TLS verifies the server against the given CA', async (t) => {
  const sink = await startSmtpSink({ tls: 'implicit' });
  t.after(() => sink.stop());
  const { dialog, greeting } = await openDialog(sink.port, { implicitTls: true, ca: sink.caCert });
  t.after(() => dialog.close());
  assert.equal(greeting, '220 sink.localhost ESMTP');
  assert.equal(dialog.tlsSocket?.authorized, true);

  const otherCa = await makeTestCa();
  await assert.rejects(openDialog(sink.port, { implicitTls: true, ca: otherCa.caCert }), {
    code: 'SELF_SIGNED_CERT_IN_CHAIN',
  });
});

test('dialog: a failed STARTTLS handshake rejects and the connection ends', async (t) => {
  const sink = await startSmtpSink({ tls: 'starttls' });
  t.after(() => sink.stop());
  const { dialog } = await openDialog(sink.port);
  t.after(() => dialog.close());
  await dialog.ehlo();
  const otherCa = await makeTestCa();
  await assert.rejects(dialog.startTls({ ca: otherCa.caCert }), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  await dialog.closed();
  await assert.rejects(dialog.read(), /^Error: connection closed/);
});

test('dialog: replies are reassembled across TCP chunks and pipelined replies queue', async (t) => {
  const server = await scriptedServer(async (socket) => {
    socket.write('220-first\r');
    await sleep(20);
    socket.write('\n220 sec');
    await sleep(20);
    socket.write('ond\r\n');
    socket.on('data', (data: Buffer) => {
      const line = data.toString();
      if (line.startsWith('NOOP')) socket.write('250-a\r\n250-b\r\n250 c\r\n250 extra\r\n');
      if (line.startsWith('QUIT')) socket.end('221-bye\r\n221-partial');
    });
  });
  t.after(() => server.close());

  const { dialog, greeting } = await openDialog(server.port);
  t.after(() => dialog.close());
  assert.equal(greeting, '220-first\n220 second');
  assert.equal(await dialog.send('NOOP'), '250-a\n250-b\n250 c');
  assert.equal(await dialog.read(), '250 extra');
  await assert.rejects(dialog.send('QUIT'), {
    message: 'connection closed before a complete reply; received so far: "221-bye\\n221-partial"',
  });
  await dialog.closed();
});

test('dialog: read() times out on a silent server, keeping what arrived', async (t) => {
  const server = await scriptedServer((socket) => {
    socket.write('220 hi\r\n');
    socket.on('data', (data: Buffer) => {
      const line = data.toString();
      if (line.startsWith('NOOP')) socket.write('250-partial\r\n');
      if (line.startsWith('RSET')) socket.write('250 done\r\n');
    });
  });
  t.after(() => server.close());

  const { dialog } = await openDialog(server.port, { replyTimeoutMs: 100 });
  t.after(() => dialog.close());
  await assert.rejects(dialog.send('NOOP'), {
    message: 'timed out after 100ms waiting for an SMTP reply; received so far: "250-partial"',
  });
  dialog.write('RSET\r\n');
  assert.equal(await dialog.read(), '250-partial\n250 done');
});

test('dialog: plaintext received with the STARTTLS reply is discarded', async (t) => {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost']);
  const server = await scriptedServer((socket) => {
    socket.write('220 fake ESMTP\r\n');
    socket.once('data', () => {
      // A man in the middle appends a reply the client must not read as the post-TLS answer.
      socket.write('220 go ahead\r\n250 injected\r\n');
      const secure = new TLSSocket(socket, { isServer: true, key: leaf.key, cert: leaf.chain });
      secure.on('error', () => {});
      secure.on('data', (data: Buffer) => {
        if (data.toString().startsWith('EHLO')) secure.write('250 secure hello\r\n');
      });
    });
  });
  t.after(() => server.close());

  const { dialog } = await openDialog(server.port);
  t.after(() => dialog.close());
  await dialog.startTls({ ca: ca.caCert, servername: 'localhost' });
  assert.equal(await dialog.ehlo(), '250 secure hello');
});

// --- local helpers --------------------------------------------------------------

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}

function tlsHandshake(opts: { port: number; ca: string; servername: string }): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', ...opts });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
    socket.once('secureConnect', () => resolve(socket));
  });
}

/** A bare TCP server whose replies a test scripts byte by byte, for cases a real SMTP server never produces. */
async function scriptedServer(onSocket: (socket: Socket) => void | Promise<void>) {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    void onSocket(socket);
  });
  await listen(server, 0);
  return {
    port: portOf(server),
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}
