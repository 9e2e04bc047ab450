// This machine is shared (other sessions run their own gateways and load here), and on 2 cores
// a stranger's busy process halves what is measured. Before each measurement, wait (bounded)
// until the box has been nearly idle for a couple of seconds; say so when it never was.
import { cpus } from 'node:os';
import { sleep } from './child.js';
import { boxCpu } from './proc-stats.js';

/** Busy cores over one second. */
async function busyCores(): Promise<number> {
  const a = boxCpu();
  await sleep(1000);
  const b = boxCpu();
  return ((b.busy - a.busy) / (b.total - a.total)) * cpus().length;
}

/** Resolves with the busy cores last seen; waits up to maxMs for two quiet seconds in a row. */
export async function waitForQuiet(log: (text: string) => void, maxMs = 120_000, threshold = 0.3): Promise<number> {
  const until = Date.now() + maxMs;
  let quiet = 0;
  let said = false;
  let busy = 0;
  while (Date.now() < until) {
    busy = await busyCores();
    quiet = busy < threshold ? quiet + 1 : 0;
    if (quiet >= 2) return busy;
    if (!said && quiet === 0) {
      log(`the box is busy (${busy.toFixed(2)} cores used by other processes); waiting up to ${maxMs / 1000}s for it to settle`);
      said = true;
    }
  }
  log(`the box did not settle (${busy.toFixed(2)} cores busy); measuring anyway, figures will be low`);
  return busy;
}
