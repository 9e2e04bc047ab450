import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { OpenStore } from '../../app/open-store.js';
import type { Config } from '../../config/index.js';
import type { PullResult } from '../../directory/directory-pull.js';
import type { LdapMapping } from '../../directory/ldap-mapping.js';
import type { LdapTarget } from '../../directory/ldap-search.js';
import type { LdapSync, RunOutcome } from '../../directory/ldap-sync.js';
import type { SyncSourceInput, SyncSourceView } from '../../directory/sync-sources.js';
import { systemClock } from '../../lib/clock.js';
import { formatDurationMs } from '../../lib/durations.js';
import { descriptionOf } from '../commands-table.js';
import { cliActor, withStore } from '../context.js';
import { CliError, formatTime, printJson } from '../output.js';

interface SyncOptions {
  ldap?: string;
  base?: string;
  filter: string;
  bindDn?: string;
  bindPasswordStdin?: boolean;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  every: string;
  mailAttribute?: string;
  aliasAttributes?: string;
  idAttributes?: string;
  nameAttributes?: string;
  inactiveAttribute?: string;
  allowMassRemoval?: boolean;
  now?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const SYNC_HELP = `
With --ldap the source is saved (after a first run that works) and the gateway
pulls it every --every; without, the saved source runs now (--now) or is
compared without changing anything (--dry-run). ldap:// is upgraded with
StartTLS, which must succeed: nothing is sent or read unencrypted.
The bind password is sealed with the key-encryption key.
A run that would remove more than half of the synced addresses changes
nothing unless --allow-mass-removal. Manual addresses are never touched.

Examples:
  printf %s "$BIND_PASSWORD" | relaygate directory sync \\
    --ldap ldaps://ldap.example.com --base ou=people,dc=example,dc=com \\
    --filter '(objectClass=inetOrgPerson)' \\
    --bind-dn cn=relaygate,dc=example,dc=com --bind-password-stdin --every 15m
  relaygate directory sync --dry-run
  relaygate directory sync --now
Guide: docs/guides/directory-sync.md`;

export function registerDirectory(program: Command): void {
  const directory = program
    .command('directory')
    .description(descriptionOf('directory'))
    .addHelpText('after', '\nExamples:\n  relaygate directory show\n  relaygate directory sync --dry-run\nGuide: docs/guides/directory-sync.md');
  registerSync(directory);
  registerShow(directory);
  registerForget(directory);
}

function registerSync(directory: Command): void {
  directory
    .command('sync')
    .description('save an LDAP source, or run the saved one now')
    .option('--ldap <url>', 'ldaps://HOST[:PORT], or ldap://HOST[:PORT] with StartTLS')
    .option('--base <dn>', 'where the users are: ou=people,dc=example,dc=com')
    .option('--filter <filter>', 'which entries are users (RFC 4515)', '(mail=*)')
    .option('--bind-dn <dn>', 'the account to bind as (else anonymous)')
    .option('--bind-password-stdin', 'read the bind password from standard input')
    .option('--ca <file>', "PEM CA for the directory's certificate")
    .option('--client-cert <file>', 'PEM client certificate (Google Secure LDAP)')
    .option('--client-key <file>', 'its PEM private key (sealed at rest)')
    .option('--every <duration>', 'how often the gateway pulls', '15m')
    .option('--mail-attribute <name>', 'the address attribute (default mail)')
    .option('--alias-attributes <names>', 'comma-separated (proxyAddresses,...)')
    .option('--id-attributes <names>', 'comma-separated (entryUUID,objectGUID)')
    .option('--name-attributes <names>', 'comma-separated (displayName,cn)')
    .option('--inactive-attribute <name>', 'a TRUE value suspends the address')
    .option('--allow-mass-removal', 'let this run remove more than half')
    .option('--now', 'run the saved source now (the default)')
    .option('--dry-run', 'print the changes without making them')
    .option('--json', 'print JSON')
    .addHelpText('after', SYNC_HELP)
    .action(async (opts: SyncOptions, command: Command) => {
      if (opts.ldap === undefined && (opts.base || opts.bindDn || opts.ca || opts.clientCert))
        throw new CliError('--base, --bind-dn, --ca and --client-cert describe a source: give --ldap URL with them');
      const outcome = opts.ldap !== undefined ? await saveAndRun(command, opts) : await runSaved(command, opts);
      if (opts.json) printJson(outcome);
      else process.stdout.write(describeOutcome(outcome, opts.dryRun === true));
      if (outcome.status !== 'ok') process.exitCode = 1;
    });
}

function registerShow(directory: Command): void {
  directory
    .command('show')
    .description('show the LDAP source and its last run (never its password)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate directory show --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const view = await withSync(command, (sync) => sync.sources.get());
      if (opts.json) return printJson(view ?? null);
      if (!view) return void process.stdout.write('No directory source: save one with relaygate directory sync --ldap URL --base DN\n');
      process.stdout.write(describeSource(view));
    });
}

function registerForget(directory: Command): void {
  directory
    .command('forget')
    .description('stop pulling: remove the saved source (addresses stay)')
    .addHelpText('after', '\nExample:\n  relaygate directory forget')
    .action(async (_opts: unknown, command: Command) => {
      const removed = await withSync(command, (sync) => sync.sources.remove(cliActor(), systemClock.now()));
      process.stdout.write(removed ? 'Removed the directory source; its addresses stay as they are.\n' : 'No directory source was saved.\n');
    });
}

async function withSync<T>(command: Command, work: (sync: LdapSync, store: OpenStore, config: Config) => Promise<T>): Promise<T> {
  const [{ ldapSync }, { keyEncryptionFor }, { DirectoryError }, { directoryStores }] = await Promise.all([
    import('../../directory/ldap-sync.js'),
    import('../../secure/master-key.js'),
    import('../../model/directory-error.js'),
    import('../../app/directory-stores.js'),
  ]);
  try {
    return await withStore(command, (store, config) => {
      const ctx = { db: store.db, clock: systemClock, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
      return work(
        ldapSync(ctx, config, () => keyEncryptionFor(config), directoryStores(store.db)),
        store,
        config,
      );
    });
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliError(err.field ? `${err.message} (${err.field})` : err.message);
    throw err;
  }
}

async function runSaved(command: Command, opts: SyncOptions): Promise<RunOutcome> {
  const outcome = await withSync(command, (sync) =>
    sync.run({ dryRun: opts.dryRun === true, allowMassRemoval: opts.allowMassRemoval === true, actor: cliActor() }),
  );
  if (!outcome) throw new CliError('no directory source is saved: give --ldap URL --base DN (see relaygate directory sync --help)');
  return outcome;
}

/** A new source runs once before it is saved: a wrong password or CA is refused and nothing is kept. */
async function saveAndRun(command: Command, opts: SyncOptions): Promise<RunOutcome> {
  const input = await sourceInput(opts);
  return withSync(command, async (sync) => {
    const saved = (await sync.sources.target())?.target;
    const bindPassword = input.bindPassword ?? (saved?.bindDn === input.bindDn ? saved.bindPassword : null);
    if (input.bindDn !== null && bindPassword === null) throw new CliError(`--bind-dn ${input.bindDn} needs its password: pipe it to --bind-password-stdin`);
    const target: LdapTarget = { ...input, bindPassword };
    const options = { dryRun: opts.dryRun === true, allowMassRemoval: opts.allowMassRemoval === true, actor: cliActor() };
    const outcome = await sync.try(target, options);
    // A source is kept only once it has run: a refused one (--allow-mass-removal) is not saved either.
    if (opts.dryRun || outcome.status !== 'ok') return outcome;
    const view = await sync.sources.save(input, cliActor(), systemClock.now());
    await sync.sources.recordRun(view.id, systemClock.now(), outcome);
    return outcome;
  });
}

async function sourceInput(opts: SyncOptions): Promise<SyncSourceInput & { bindPassword?: string }> {
  const { parseDurationMs } = await import('../../lib/durations.js');
  const { DEFAULT_MAPPING } = await import('../../directory/ldap-mapping.js');
  if (!opts.base) throw new CliError('--base is required with --ldap: the DN the users are under, e.g. ou=people,dc=example,dc=com');
  const intervalMs = parseDurationMs(opts.every);
  if (intervalMs === undefined) throw new CliError(`--every must be a duration such as 15m or 1h, not "${opts.every}"`);
  if (opts.bindPasswordStdin && !opts.bindDn) throw new CliError('--bind-password-stdin needs --bind-dn: the account the password is for');
  if (Boolean(opts.clientCert) !== Boolean(opts.clientKey)) throw new CliError('give --client-cert and --client-key together');
  const list = (value: string | undefined, fallback: string[]) =>
    value === undefined
      ? fallback
      : value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  const mapping: LdapMapping = {
    mail: opts.mailAttribute ?? DEFAULT_MAPPING.mail,
    aliases: list(opts.aliasAttributes, DEFAULT_MAPPING.aliases),
    externalId: list(opts.idAttributes, DEFAULT_MAPPING.externalId),
    description: list(opts.nameAttributes, DEFAULT_MAPPING.description),
    inactive: opts.inactiveAttribute ?? null,
  };
  const cert = await readPem('--client-cert', opts.clientCert);
  const key = await readPem('--client-key', opts.clientKey);
  const password = opts.bindPasswordStdin ? await passwordFromStdin() : undefined;
  return {
    url: opts.ldap ?? '',
    baseDn: opts.base,
    filter: opts.filter,
    bindDn: opts.bindDn ?? null,
    ...(password !== undefined ? { bindPassword: password } : {}),
    caCert: (await readPem('--ca', opts.ca)) ?? null,
    clientCert: cert !== undefined && key !== undefined ? { cert, key } : null,
    mapping,
    intervalMs,
  };
}

async function readPem(flag: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** One trailing newline dropped, as `echo` adds one. */
async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('--bind-password-stdin reads a pipe or a file: printf %s "$BIND_PASSWORD" | relaygate directory sync …');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new CliError('--bind-password-stdin read nothing from standard input');
  return password;
}

function describeOutcome(outcome: RunOutcome, dryRun: boolean): string {
  if (outcome.status === 'failed') return `Directory not read, nothing changed: ${outcome.error}\n`;
  const result = outcome.result as PullResult;
  const lines = [
    dryRun
      ? `Dry run: ${result.entries} directory entries; ${result.changes.length} changes would be made, nothing was changed:`
      : `Pulled ${result.entries} directory entries: ${result.changes.length} changes, ${result.unchanged} unchanged.`,
    ...changeLines(result),
    ...(outcome.status === 'refused' ? [`Nothing was changed: ${outcome.error}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function changeLines(result: PullResult): string[] {
  const width = Math.max(0, ...result.changes.map((c) => c.address.length));
  return [
    ...result.changes.map((c) => `  ${c.action.padEnd(6)}  ${c.address.padEnd(width)}  ${c.details.join(', ')}`.trimEnd()),
    ...(result.refused.length > 0 ? [`Left out (${result.refused.length}):`, ...result.refused.map((r) => `  ${r.kind}  ${r.address}: ${r.reason}`)] : []),
  ];
}

function describeSource(view: SyncSourceView): string {
  const run = view.lastRun;
  const lines = [
    `LDAP source ${view.id}`,
    `  url:      ${view.url}`,
    `  base:     ${view.baseDn}`,
    `  filter:   ${view.filter}`,
    `  bind dn:  ${view.bindDn ?? '(anonymous)'}${view.hasBindPassword ? ', password sealed' : ''}`,
    `  ca:       ${view.caCert ? 'given' : 'default trust roots'}${view.clientCert ? '; client certificate (key sealed)' : ''}`,
    `  mapping:  mail=${view.mapping.mail} aliases=${view.mapping.aliases.join(',')} id=${view.mapping.externalId.join(',')}`,
    `  every:    ${formatDurationMs(view.intervalMs)}`,
    `  last run: ${run ? `${formatTime(run.at)}, ${run.status}` : 'never'}`,
    ...(run?.error ? [`  error:    ${run.error}`] : []),
    ...(run?.result ? [`  changes:  ${run.result.changes.length}, unchanged ${run.result.unchanged}, left out ${run.result.refused.length}`] : []),
    ...(run?.result ? changeLines(run.result).map((l) => `  ${l}`) : []),
    `  next run: ${formatTime(view.nextRunAt)} (by a running gateway)`,
  ];
  return `${lines.join('\n')}\n`;
}
