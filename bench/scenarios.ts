// The scenarios: every one is STARTTLS + AUTH PLAIN with one connection per message, and
// bounded in messages (count) and time (maxSeconds to stop starting messages, hardSeconds
// to cut what is still in flight).
const KiB = 1024;
const MiB = 1024 * KiB;

export interface Scenario {
  id: string;
  label: string;
  concurrency: number;
  size: number;
  count: number;
  maxSeconds: number;
  hardSeconds: number;
  /** `secure`: the sender's domain is routed secure, so each message is encrypted at rest and each recipient notified. */
  route?: 'secure';
  /** smtp.workers of the gateway: 1 unless given (bench/gateway-process.ts). */
  workers?: number;
  /** Issue 21, point 5: the peak RSS this scenario must stay under, in MB (the quick runs have none). */
  peakTargetMB?: number;
}

/** Issue 21, point 5: the gateway's RSS once started and set up, before any load. */
export const IDLE_TARGET_MB = 90;

export const FULL: Scenario[] = [
  { id: 'c20-10k', label: '20 sessions, 10 KiB', concurrency: 20, size: 10 * KiB, count: 6000, maxSeconds: 20, hardSeconds: 40, peakTargetMB: 160 },
  // The same load with the sessions in two SMTP worker processes (smtp.workers 2): c20-10k is the one-process row.
  { id: 'c20-10k-w2', label: '20 sessions, 10 KiB, 2 SMTP workers', concurrency: 20, size: 10 * KiB, count: 6000, maxSeconds: 20, hardSeconds: 40, workers: 2 },
  { id: 'c10-1m', label: '10 sessions, 1 MiB', concurrency: 10, size: MiB, count: 1500, maxSeconds: 20, hardSeconds: 50 },
  // The same load as c20-10k, routed secure: the cost of encryption at rest and notifications.
  {
    id: 'c20-10k-secure',
    label: '20 sessions, 10 KiB, secure route',
    concurrency: 20,
    size: 10 * KiB,
    count: 6000,
    maxSeconds: 20,
    hardSeconds: 40,
    route: 'secure',
  },
  // One 25 MiB message per session, all 50 at once: the memory test.
  { id: 'c50-25m', label: '50 sessions x one 25 MiB', concurrency: 50, size: 25 * MiB, count: 50, maxSeconds: 30, hardSeconds: 90, peakTargetMB: 200 },
];

/** Same shapes, small counts: checks the harness end to end in well under a minute. */
export const QUICK: Scenario[] = [
  { id: 'c20-10k', label: '20 sessions, 10 KiB (quick)', concurrency: 20, size: 10 * KiB, count: 200, maxSeconds: 5, hardSeconds: 15 },
  {
    id: 'c20-10k-w2',
    label: '20 sessions, 10 KiB, 2 SMTP workers (quick)',
    concurrency: 20,
    size: 10 * KiB,
    count: 200,
    maxSeconds: 5,
    hardSeconds: 15,
    workers: 2,
  },
  { id: 'c10-1m', label: '10 sessions, 1 MiB (quick)', concurrency: 10, size: MiB, count: 20, maxSeconds: 5, hardSeconds: 15 },
  {
    id: 'c20-10k-secure',
    label: '20 sessions, 10 KiB, secure route (quick)',
    concurrency: 20,
    size: 10 * KiB,
    count: 200,
    maxSeconds: 5,
    hardSeconds: 15,
    route: 'secure',
  },
  { id: 'c5-5m', label: '5 sessions x one 5 MiB (quick)', concurrency: 5, size: 5 * MiB, count: 5, maxSeconds: 5, hardSeconds: 20 },
];
