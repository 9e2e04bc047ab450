import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Actor } from '../directory/context.js';
import type { Clock } from '../lib/clock.js';
import { forgetKeyFiles, rotateKeyFile, withKeyLock } from './key-files.js';
import { type KeyUsage, keyUsage } from './key-usage.js';
import { type KeyConfig, keyRingOf, type LoadedKey, type LoadedKeys, loadKeys, MASTER_KEY_FILE } from './master-key.js';
import { type RewrapReport, rewrapAll } from './rewrap.js';
import type { SealedValueStore } from './sealed-columns.js';

export interface KeyAdminContext {
  sealed: SealedValueStore;
  /** Durability barrier: what a rewrap wrote must be on disk before a key it replaced may go. */
  syncCommitted(): Promise<void>;
  clock: Clock;
}

/** A key operation refused; the message says what to do instead. */
export class KeyAdminRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyAdminRefused';
  }
}

export interface KeyEntry {
  keyId: string;
  source: string;
  /** Sealed values under this key. */
  values: number;
}

export interface KeyStatus {
  current: KeyEntry;
  previous: KeyEntry[];
  /** Key ids that values carry but no configured key has: those values cannot be opened until the key is restored. */
  missing: { keyId: string; values: number }[];
  usage: KeyUsage;
}

export async function keyStatus(ctx: Pick<KeyAdminContext, 'sealed'>, config: KeyConfig): Promise<KeyStatus> {
  const keys = loadKeys(config);
  return statusOf(keys, await keyUsage(ctx.sealed, keyRingOf(keys)));
}

export interface RotateResult {
  currentKeyId: string;
  replacedKeyId: string;
  /** Where the replaced key is kept until `key rewrap --forget-previous`. */
  keptAs: string;
  rewrap: RewrapReport;
}

const ENVIRONMENT_ROTATION =
  'the key-encryption key comes from RELAYGATE_MASTER_KEY (masterKey), which this command cannot change. To rotate it: ' +
  'put a new key (openssl rand -base64 32) in RELAYGATE_MASTER_KEY and the current one in RELAYGATE_PREVIOUS_MASTER_KEYS, ' +
  'restart every gateway process, then run "relaygate key rewrap"';

/** A fresh keys/master.key, the old one kept in keys/previous/, then every value rewrapped under the new one. */
export async function rotateKeys(ctx: KeyAdminContext, config: KeyConfig, actor: Actor): Promise<RotateResult> {
  if (config.masterKey) throw new KeyAdminRefused(ENVIRONMENT_ROTATION);
  if (!existsSync(join(config.dataDir, MASTER_KEY_FILE)))
    throw new KeyAdminRefused(`there is no ${MASTER_KEY_FILE} in ${config.dataDir} to rotate; the gateway generates one on its first start`);
  return withKeyLock(config.dataDir, async () => {
    // A broken previous key stops the rotation before anything changes.
    loadKeys(config);
    const { current, replaced } = await rotateKeyFile(config.dataDir);
    const keys = loadKeys(config);
    if (keys.current.keyId !== current.keyId) throw new Error(`${MASTER_KEY_FILE} changed during the rotation; run "relaygate key status"`);
    const detail = { previousKeyId: replaced.keyId, keptAs: replaced.source };
    let rewrap: RewrapReport;
    try {
      rewrap = await rewrapAll(ctx.sealed, keyRingOf(keys));
    } catch (err) {
      await audit(ctx, actor, 'key.rotate', current.keyId, { ...detail, rewrap: 'failed' });
      throw err;
    }
    await audit(ctx, actor, 'key.rotate', current.keyId, { ...detail, ...counts(rewrap) });
    return { currentKeyId: current.keyId, replacedKeyId: replaced.keyId, keptAs: replaced.source, rewrap };
  });
}

export interface RewrapResult {
  rewrap: RewrapReport;
  /** With forgetPrevious: the previous keys that still hold values, so nothing was forgotten. */
  stillNeeded: KeyEntry[];
  /** Key files deleted. */
  forgotten: KeyEntry[];
  /** Previous keys from the configuration, which the operator removes. */
  inConfiguration: KeyEntry[];
}

/**
 * Rewraps every value under the current key. With forgetPrevious, and only when no value is
 * left under any previous key, deletes the previous key files: after the rewrap is durable,
 * so a power cut cannot bring back values under a key that is gone.
 */
export async function rewrapKeys(ctx: KeyAdminContext, config: KeyConfig, actor: Actor, options: { forgetPrevious: boolean }): Promise<RewrapResult> {
  return withKeyLock(config.dataDir, async () => {
    const keys = loadKeys(config);
    const ring = keyRingOf(keys);
    const rewrap = await rewrapAll(ctx.sealed, ring);
    await ctx.syncCommitted();
    const result: RewrapResult = { rewrap, stillNeeded: [], forgotten: [], inConfiguration: [] };
    if (options.forgetPrevious) {
      const status = statusOf(keys, await keyUsage(ctx.sealed, ring));
      result.stillNeeded = status.previous.filter((k) => k.values > 0);
      if (result.stillNeeded.length === 0) {
        result.forgotten = (await forgetKeyFiles(keys.previous.filter((k) => k.file !== undefined))).map(entryOf);
        result.inConfiguration = keys.previous.filter((k) => k.file === undefined).map(entryOf);
      }
    }
    await audit(ctx, actor, 'key.rewrap', ring.currentKeyId, {
      ...counts(rewrap),
      ...(options.forgetPrevious
        ? { forgotten: result.forgotten.map((k) => k.keyId), stillNeeded: result.stillNeeded.map((k) => ({ keyId: k.keyId, values: k.values })) }
        : {}),
    });
    return result;
  });
}

function statusOf(keys: LoadedKeys, usage: KeyUsage): KeyStatus {
  const entry = (k: LoadedKey): KeyEntry => ({ keyId: k.keyId, source: k.source, values: usage.byKey[k.keyId] ?? 0 });
  const known = new Set([keys.current.keyId, ...keys.previous.map((k) => k.keyId)]);
  return {
    current: entry(keys.current),
    // The current key listed again (copied into keys/previous/) is not a previous key.
    previous: keys.previous.filter((k) => k.keyId !== keys.current.keyId).map(entry),
    missing: Object.entries(usage.byKey)
      .filter(([keyId]) => !known.has(keyId))
      .map(([keyId, values]) => ({ keyId, values })),
    usage,
  };
}

const entryOf = (k: LoadedKey): KeyEntry => ({ keyId: k.keyId, source: k.source, values: 0 });

/** What the audit log keeps of a rewrap: counts and key ids, never key material or row contents. */
function counts(rewrap: RewrapReport): Record<string, unknown> {
  return {
    rewrapped: rewrap.rewrapped,
    remaining: rewrap.remaining,
    columns: Object.fromEntries(
      rewrap.columns.map((c) => [
        c.column,
        { rewrapped: c.rewrapped, changedMeanwhile: c.changedMeanwhile, unreadable: c.unreadable.length, remaining: c.remaining },
      ]),
    ),
  };
}

async function audit(ctx: KeyAdminContext, actor: Actor, action: string, keyId: string, detail: Record<string, unknown>): Promise<void> {
  await ctx.sealed.audit(actor, { action, targetType: 'key-encryption-key', targetId: keyId, detail }, ctx.clock.now());
  await ctx.syncCommitted();
}
