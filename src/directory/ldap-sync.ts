import { DirectoryError } from '../model/directory-error.js';
import type { KeyEncryption } from '../secure/key-encryption.js';
import type { AddressSyncConfig } from './address-sync.js';
import type { Actor, DirectoryContext } from './context.js';
import { type PullResult, type PullStores, pullDirectory } from './directory-pull.js';
import { type LdapTarget, searchDirectory } from './ldap-search.js';
import { syncSources } from './sync-sources.js';

export interface RunOutcome {
  status: 'ok' | 'failed' | 'refused';
  /** Why the run failed or changed nothing, with the fix; null when it ran. */
  error: string | null;
  /** The flag the error concerns (--bind-dn, --ca, …). */
  flag: string | null;
  result: PullResult | null;
}

export interface RunOptions {
  dryRun: boolean;
  /** This run only: a scheduled run never removes more than half (directory-pull.ts). */
  allowMassRemoval?: boolean;
  actor: Actor;
}

const LOCK = 'ldap-sync';

/** The scheduled pulls' actor in the audit log. */
export const SCHEDULE_ACTOR: Actor = { name: 'system:ldap-sync', ip: null };

/**
 * Runs the organisation's LDAP pull: read the directory whole, then sync. A directory that
 * cannot be read (unreachable, TLS, bind, filter) changes nothing: the addresses stay as they
 * are and the error is recorded for `directory show`; an empty answer from a failed search can
 * never look like an emptied directory, because a failed search is never a result.
 */
export function ldapSync(ctx: Pick<DirectoryContext, 'clock' | 'syncCommitted'>, config: AddressSyncConfig, kek: () => KeyEncryption, stores: PullStores) {
  const sources = syncSources(stores.directorySync, kek);

  const pull = async (target: LdapTarget, options: RunOptions & { allowMassRemoval: boolean }): Promise<RunOutcome> => {
    let entries: Awaited<ReturnType<typeof searchDirectory>>;
    try {
      entries = await searchDirectory(target);
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      return { status: 'failed', error: err.message, flag: err.field ?? null, result: null };
    }
    const result = await pullDirectory(stores, ctx, config, entries, target.mapping, options);
    if (result.massRemoval === null) return { status: 'ok', error: null, flag: null, result };
    const { removals, of } = result.massRemoval;
    const error = `the directory answered without ${removals} of the ${of} synced addresses: a run that removes more than half changes nothing; check --filter and --base, or run relaygate directory sync --now --allow-mass-removal if that is right`;
    return { status: 'refused', error, flag: '--allow-mass-removal', result };
  };

  const runSaved = async (options: RunOptions): Promise<RunOutcome | undefined> => {
    const saved = await sources.target();
    if (!saved) return undefined;
    const at = ctx.clock.now();
    const outcome = await pull(saved.target, { ...options, allowMassRemoval: options.allowMassRemoval ?? false });
    if (!options.dryRun) await sources.recordRun(saved.view.id, at, outcome);
    return outcome;
  };

  return {
    sources,

    /** A source not saved yet (`directory sync --ldap … --dry-run`, or the check before saving). */
    try: (target: LdapTarget, options: RunOptions) => pull(target, { ...options, allowMassRemoval: options.allowMassRemoval ?? false }),

    /**
     * The saved source, now; undefined when none is saved. A real run is recorded for `directory
     * show`, and takes the pull's lock: instances sharing PostgreSQL (and `--now` beside them)
     * never pull at once, which would have two of them create the same user.
     */
    async run(options: RunOptions): Promise<RunOutcome | undefined> {
      if (options.dryRun) return runSaved(options);
      let ran = false;
      let outcome: RunOutcome | undefined;
      await stores.directorySync.exclusively(LOCK, async () => {
        ran = true;
        outcome = await runSaved(options);
      });
      if (ran) return outcome;
      return { status: 'failed', error: 'another instance is pulling the directory right now: try again in a moment', flag: null, result: null };
    },

    /** The schedule's tick: runs the saved source when its interval has passed since the last run (checked under the lock). */
    async runIfDue(): Promise<RunOutcome | undefined> {
      let outcome: RunOutcome | undefined;
      await stores.directorySync.exclusively(LOCK, async () => {
        const view = await sources.get();
        if (view && view.nextRunAt <= ctx.clock.now()) outcome = await runSaved({ dryRun: false, actor: SCHEDULE_ACTOR });
      });
      return outcome;
    },
  };
}

export type LdapSync = ReturnType<typeof ldapSync>;
