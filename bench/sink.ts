// The gateway's downstream during the bench: Postfix's smtp-sink when installed (C, cheap, the
// same sink the shared harness uses), else bench/node-sink.ts. Both print "... mesg=N\r"
// counters on stdout; the arrival time of every message is kept so that "delivered per
// second" is measured where the mail lands, not where the gateway says it sent it.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { freePort, sleep, startChild, stopChild, tsxArgs } from './child.js';
import { epochMs } from './clock.js';

export type SinkKind = 'smtp-sink' | 'node';
export const SMTP_SINK = '/usr/sbin/smtp-sink';

export interface Sink {
  kind: SinkKind;
  port: number;
  pid: number;
  /** Messages received so far. */
  count(): number;
  /** Epoch ms at which the sink had n messages, if it has. */
  timeOf(n: number): number | undefined;
  /** Waits until the sink has n messages, or maxMs passed, or idleMs passed without a new one. */
  waitFor(n: number, maxMs: number, idleMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export function defaultSinkKind(): SinkKind {
  return existsSync(SMTP_SINK) ? 'smtp-sink' : 'node';
}

export async function startSink(kind: SinkKind): Promise<Sink> {
  let port = 0;
  let child: ChildProcess;
  if (kind === 'smtp-sink') {
    port = await freePort();
    // -c counters on stdout; -m: up to 1024 sessions at once (the gateway pools 8); backlog 1000.
    // As root, smtp-sink insists on dropping privileges (-u).
    const asRoot = userInfo().uid === 0 ? ['-u', 'nobody'] : [];
    child = startChild(SMTP_SINK, ['-c', ...asRoot, '-m', '1024', `127.0.0.1:${port}`, '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    child = startChild(process.execPath, tsxArgs('node-sink.ts', ['--port', '0']), { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  // arrivals[i] = when message i+1 arrived (a counter jump stamps every message it covers)
  const arrivals: number[] = [];
  let pending = '';
  let stderr = '';
  let listening: (p: number) => void = () => {};
  const announced = new Promise<number>((resolve) => {
    listening = resolve;
  });
  child.stdout?.on('data', (data: Buffer) => {
    const now = epochMs();
    pending += data.toString('latin1');
    const records = pending.split(/[\r\n]/);
    pending = records.pop() ?? ''; // an unfinished record waits for the rest of its bytes
    for (const record of records) {
      const listen = /^listening (\d+)$/.exec(record);
      if (listen) listening(Number(listen[1]));
      const mesg = /mesg=(\d+)/.exec(record);
      if (mesg) while (arrivals.length < Number(mesg[1])) arrivals.push(now);
    }
  });
  child.stderr?.on('data', (data: Buffer) => {
    if (stderr.length < 4000) stderr += data.toString();
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the ${kind} sink`);
  if (kind === 'node') port = await Promise.race([announced, sleep(20_000).then(() => 0)]);
  await waitListening(
    port,
    () => child.exitCode !== null,
    () => stderr,
  );

  return {
    kind,
    port,
    pid,
    count: () => arrivals.length,
    timeOf: (n) => (n <= 0 ? epochMs() : arrivals[n - 1]),
    async waitFor(n, maxMs, idleMs) {
      const until = epochMs() + maxMs;
      let last = arrivals.length;
      let lastChange = epochMs();
      while (arrivals.length < n && epochMs() < until && epochMs() - lastChange < idleMs) {
        await sleep(20);
        if (arrivals.length !== last) {
          last = arrivals.length;
          lastChange = epochMs();
        }
      }
      return arrivals.length >= n;
    },
    async stop() {
      await stopChild(child, 3000);
    },
  };
}

/** Connect-polls until the sink accepts TCP connections (smtp-sink says nothing when ready). */
async function waitListening(port: number, dead: () => boolean, stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (dead()) throw new Error(`the sink exited during start-up: ${stderr().trim()}`);
    if (port > 0) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (ok) return;
    }
    await sleep(50);
  }
  throw new Error(`the sink did not listen on 127.0.0.1:${port} within 10 s`);
}
