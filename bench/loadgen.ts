// SMTP submission load generator, run as its own process by scenario.ts so that its CPU is
// measured apart from the gateway's and the runner's /proc sampling keeps its 50 ms beat.
// C workers loop: connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT, with
// one connection per message (like the shared loadgen; --reuse keeps one per worker).
// Bounded: stops starting messages at --count or --max-seconds, and at --hard-seconds
// closes whatever is still in flight (counted as failed). Loopback targets only.
// With several ports (--port P1,P2,...: one gateway each, sharing one store), the sessions
// go round-robin over them. Prints one JSON line (LoadResult) on stdout.
//
//   node --import tsx bench/loadgen.ts --port P[,P...] --auth USER:PASS [--count N] [--concurrency C]
//        [--size BYTES] [--max-seconds S] [--hard-seconds S] [--reuse] [--go-on-stdin]
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { epochMs } from './clock.js';
import { type LoadResult, summarize } from './load-result.js';

const { values: o } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    auth: { type: 'string' },
    count: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1' },
    size: { type: 'string', default: '10240' },
    'max-seconds': { type: 'string', default: '30' },
    'hard-seconds': { type: 'string' },
    reuse: { type: 'boolean', default: false },
    // Print "ready" and wait for a line on stdin before starting, so the caller can take its
    // baselines after this process has loaded (tsx start-up is not load).
    'go-on-stdin': { type: 'boolean', default: false },
  },
});
if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(o.host)) throw new Error(`refusing non-loopback target ${o.host}`);
const ports = (o.port ?? '').split(',').map(Number);
const [user, pass] = (o.auth ?? '').split(':');
if (!ports.every((p) => Number.isInteger(p) && p > 0) || !user || !pass) throw new Error('--port P[,P...] and --auth USER:PASS are required');
/** Sessions opened so far: the next one goes to ports[opened % ports.length]. */
let opened = 0;
const count = Number(o.count);
const concurrency = Number(o.concurrency);
const maxSeconds = Number(o['max-seconds']);
const hardSeconds = Number(o['hard-seconds'] ?? maxSeconds * 2 + 10);

// ~size bytes of 76-character lines (smtp-source -l style), built once and shared by every
// send: each message streams subarray views of it, so 50 x 25 MiB in flight costs 25 MiB here
// and nodemailer gets backpressure instead of one giant write.
const line = `${'x'.repeat(76)}\r\n`;
const body = line.repeat(Math.max(1, Math.ceil(Number(o.size) / line.length)));
const message = Buffer.from(`From: <bench@example.com>\r\nTo: <sink@example.com>\r\nSubject: relaygate bench\r\n\r\n${body}`);
const CHUNK = 64 * 1024;
function messageStream(): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= message.length) return void this.push(null);
      this.push(message.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
}

/** One SMTP session; every call rejects on the connection's first error, whatever was in flight. */
class Session {
  private readonly conn: SMTPConnection;
  private failure: ((err: Error) => void) | undefined;
  private dead: Error | undefined;

  constructor() {
    this.conn = new SMTPConnection({
      host: o.host,
      port: ports[opened++ % ports.length],
      secure: false,
      requireTLS: true,
      name: 'loadgen.bench.invalid',
      tls: { rejectUnauthorized: false }, // the gateway's generated development certificate
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    });
    open.add(this);
    this.conn.on('error', (err: Error) => this.fail(err));
    this.conn.once('end', () => {
      open.delete(this);
      this.fail(new Error('connection closed'));
    });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    const f = this.failure;
    this.failure = undefined;
    f?.(err);
  }

  private call<T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.failure = reject;
      start((err, value) => {
        this.failure = undefined;
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  async open(): Promise<void> {
    await this.call<void>((done) => this.conn.connect((err) => done(err)));
    await this.call<boolean>((done) => this.conn.login({ user, pass, method: 'PLAIN' }, (err, ok) => done(err, ok)));
  }

  send(): Promise<unknown> {
    return this.call((done) => this.conn.send({ from: 'bench@example.com', to: ['sink@example.com'] }, messageStream(), (err, info) => done(err, info)));
  }

  quit(): void {
    this.conn.quit();
  }

  close(): void {
    this.conn.close();
    open.delete(this);
  }
}

const open = new Set<Session>();
const latencies: number[] = [];
const setups: number[] = [];
const errors: Record<string, number> = {};
const firstErrors: string[] = [];
let started = 0;
let sent = 0;
let failed = 0;
let cut = false;

function recordError(err: unknown): void {
  failed++;
  const e = err as { code?: string; responseCode?: number; message?: string };
  const kind = cut ? 'cut at --hard-seconds' : String(e.responseCode ?? e.code ?? e.message ?? err).slice(0, 60);
  errors[kind] = (errors[kind] ?? 0) + 1;
  if (firstErrors.length < 5) firstErrors.push(String(e.message ?? err).slice(0, 300));
}

if (o['go-on-stdin']) {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
}

const startedAt = epochMs();
const cpu0 = process.cpuUsage();
const deadline = startedAt + maxSeconds * 1000;
const hardTimer = setTimeout(() => {
  cut = true;
  for (const s of [...open]) s.close();
}, hardSeconds * 1000);

async function worker(): Promise<void> {
  let session: Session | undefined;
  while (started < count && epochMs() < deadline && !cut) {
    started++;
    const t0 = epochMs();
    try {
      if (!session) {
        session = new Session();
        await session.open();
      }
      const ready = epochMs();
      await session.send();
      latencies.push(epochMs() - t0);
      setups.push(ready - t0);
      sent++;
      if (!o.reuse) {
        session.quit();
        session = undefined;
      }
    } catch (err) {
      recordError(err);
      session?.close();
      session = undefined;
    }
  }
  session?.quit();
}

await Promise.all(Array.from({ length: concurrency }, worker));
const endedAt = epochMs();
clearTimeout(hardTimer);
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  sent,
  failed,
  startedAt,
  endedAt,
  latency: summarize(latencies),
  setup: summarize(setups),
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  errors,
  firstErrors,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
// Let the last QUITs go out (up to 2 s), then leave without waiting on anything else.
const quitBy = Date.now() + 2000;
while (open.size > 0 && Date.now() < quitBy) await new Promise((r) => setTimeout(r, 20));
process.exit(0);
