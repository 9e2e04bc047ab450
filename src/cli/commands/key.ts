import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { systemClock } from '../../lib/clock.js';
import type { KeyAdminContext, KeyStatus } from '../../secure/key-rotation.js';
import type { RewrapReport } from '../../secure/rewrap.js';
import { descriptionOf } from '../commands-table.js';
import { cliActor, withStore } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

export function registerKey(program: Command): void {
  const key = program
    .command('key')
    .description(descriptionOf('key'))
    .addHelpText('after', '\nExamples:\n  relaygate key status\n  relaygate key rotate\n  relaygate key rewrap --forget-previous');
  registerStatus(key);
  registerRotate(key);
  registerRewrap(key);
}

type KeyRotation = typeof import('../../secure/key-rotation.js');

async function run<T>(command: Command, work: (ctx: KeyAdminContext, config: Config, keys: KeyRotation) => Promise<T>): Promise<T> {
  const [keys, { KeyLockBusy }, { secureStores }] = await Promise.all([
    import('../../secure/key-rotation.js'),
    import('../../secure/key-files.js'),
    import('../../app/secure-stores.js'),
  ]);
  try {
    return await withStore(command, (store, config) =>
      work({ sealed: secureStores(store.db).sealedValues, syncCommitted: store.syncCommitted, clock: systemClock }, config, keys),
    );
  } catch (err) {
    if (err instanceof keys.KeyAdminRefused || err instanceof KeyLockBusy) throw new CliError(err.message);
    throw err;
  }
}

function registerStatus(key: Command): void {
  key
    .command('status')
    .description('the current and previous keys (by key id, never the key) and how many sealed values each holds')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate key status\n  relaygate key status --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const status = await run(command, (ctx, config, keys) => keys.keyStatus(ctx, config));
      if (opts.json) return printJson(statusJson(status));
      printStatus(status);
    });
}

function registerRotate(key: Command): void {
  key
    .command('rotate')
    .description('replace the generated key (data/keys/master.key) with a fresh one and rewrap every sealed value under it; message bodies are not touched')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe old key is kept in data/keys/previous/ until "relaygate key rewrap --forget-previous".\n' +
        'A key set in RELAYGATE_MASTER_KEY is rotated by hand: new key in RELAYGATE_MASTER_KEY, old one in\n' +
        'RELAYGATE_PREVIOUS_MASTER_KEYS, restart, then "relaygate key rewrap".\n\nExample:\n  relaygate key rotate',
    )
    .action(async (opts: { json?: boolean }, command: Command) => {
      const rotated = await run(command, (ctx, config, keys) => keys.rotateKeys(ctx, config, cliActor()));
      if (opts.json) return printJson({ ...rewrapJson(rotated.rewrap), replacedKeyId: rotated.replacedKeyId, keptAs: rotated.keptAs });
      process.stdout.write(
        `Rotated the key-encryption key: ${rotated.replacedKeyId} → ${rotated.currentKeyId}.\n${rewrapSummary(rotated.rewrap)}\n` +
          `The old key is kept as ${rotated.keptAs}. Running gateways take the new key the next time they seal a secret.\n` +
          `Once "relaygate key status" shows no value under it, delete it with: relaygate key rewrap --forget-previous\n`,
      );
    });
}

function registerRewrap(key: Command): void {
  key
    .command('rewrap')
    .description('seal every value not under the current key (previous keys, the old v1 format) again under it')
    .option('--forget-previous', 'then, if no value is left under a previous key, delete the previous key files')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExits with status 1 while values remain under other keys.\n\nExample:\n  relaygate key rewrap --forget-previous')
    .action(async (opts: { forgetPrevious?: boolean; json?: boolean }, command: Command) => {
      const forgetPrevious = opts.forgetPrevious === true;
      const result = await run(command, (ctx, config, keys) => keys.rewrapKeys(ctx, config, cliActor(), { forgetPrevious }));
      if (opts.json)
        printJson({
          ...rewrapJson(result.rewrap),
          ...(forgetPrevious ? { forgotten: result.forgotten, stillNeeded: result.stillNeeded, removeFromConfiguration: result.inConfiguration } : {}),
        });
      else {
        process.stdout.write(`${rewrapSummary(result.rewrap)}\n`);
        for (const k of result.forgotten) process.stdout.write(`Deleted ${k.source} (key ${k.keyId}): no value is sealed under it.\n`);
        for (const k of result.inConfiguration)
          process.stdout.write(`No value needs key ${k.keyId} (${k.source}) any more: remove it from RELAYGATE_PREVIOUS_MASTER_KEYS / previousMasterKeys.\n`);
      }
      if (result.stillNeeded.length > 0)
        throw new CliError(
          `kept every previous key: ${result.stillNeeded.map((k) => `${k.values} value(s) are still sealed under ${k.keyId} (${k.source})`).join(', ')}; ` +
            'see "relaygate key status", restart gateways that were started before the rotation, then run this again',
        );
      if (result.rewrap.remaining > 0) throw new CliError(`${result.rewrap.remaining} value(s) remain under other keys; see "relaygate key status"`);
    });
}

function rewrapSummary(r: RewrapReport): string {
  const lines = [`Rewrapped ${r.rewrapped} sealed value(s) under ${r.keyId}; ${r.remaining} remain under other keys.`];
  for (const c of r.columns) {
    if (c.changedMeanwhile > 0) lines.push(`  ${c.column}: ${c.changedMeanwhile} changed while being rewrapped (left as written; run again)`);
    if (c.unreadable.length > 0) lines.push(`  ${c.column}: no key opens the value of ${c.unreadable.join(', ')}`);
  }
  return lines.join('\n');
}

function rewrapJson(r: RewrapReport) {
  return { keyId: r.keyId, rewrapped: r.rewrapped, remaining: r.remaining, columns: r.columns };
}

function statusJson(s: KeyStatus) {
  return {
    current: s.current,
    previous: s.previous,
    missing: s.missing,
    needRewrap: s.usage.needRewrap,
    v1Values: s.usage.v1,
    unreadable: s.usage.unreadable,
    columns: s.usage.columns,
  };
}

function printStatus(s: KeyStatus): void {
  const write = (text: string) => process.stdout.write(text);
  write('Key-encryption keys\n\n');
  printTable(
    [
      { 'key id': s.current.keyId, role: 'current', source: s.current.source, values: String(s.current.values) },
      ...s.previous.map((k) => ({ 'key id': k.keyId, role: 'previous', source: k.source, values: String(k.values) })),
      ...s.missing.map((k) => ({ 'key id': k.keyId, role: 'missing', source: '(not configured)', values: String(k.values) })),
    ],
    ['key id', 'role', 'source', 'values'],
  );
  write('\n');
  printTable(
    s.usage.columns.map((c) => ({
      column: c.column,
      values: String(Object.values(c.byKey).reduce((sum, n) => sum + n, 0) + c.unreadable),
      'need rewrap': String(c.needRewrap),
      unreadable: String(c.unreadable),
    })),
    ['column', 'values', 'need rewrap', 'unreadable'],
  );
  write('\n');
  if (s.usage.needRewrap > 0)
    write(
      `${s.usage.needRewrap} value(s) are not under the current key${s.usage.v1 > 0 ? ` (${s.usage.v1} in the old v1 format)` : ''}: relaygate key rewrap\n`,
    );
  if (s.missing.length > 0) write('Values under a missing key cannot be opened: restore that key (RELAYGATE_PREVIOUS_MASTER_KEYS or data/keys/previous/).\n');
  if (s.previous.length > 0 && s.previous.every((k) => k.values === 0))
    write('No value is under a previous key: relaygate key rewrap --forget-previous deletes their files.\n');
  if (s.usage.needRewrap === 0 && s.missing.length === 0) write('Every sealed value is under the current key.\n');
}
