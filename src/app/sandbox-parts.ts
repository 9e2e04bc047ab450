import type { Config } from '../config/schema.js';
import { connector } from '../connector/connector.js';
import { lookUpInboundRecipient } from '../directory/inbound-recipients.js';
import { secureSenders } from '../directory/secure-senders.js';
import type { Clock } from '../lib/clock.js';
import { groupCommitter } from '../queue/group-commit.js';
import type { InjectParts } from '../sandbox/inject.js';
import { type SandboxMailbox, sandboxMailbox } from '../sandbox/mailbox.js';
import { organisationRelay } from '../sandbox/sandbox.js';
import type { KeyRing } from '../secure/key-encryption.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { sealedCopies } from '../secure/sealed-captures.js';
import { sealingSpool } from '../secure/sealing-spool.js';
import { secureReplies } from '../secure/secure-replies.js';
import { sqlConnectorStore } from '../store/connector/index.js';
import { sqlInboundRecipientStore } from '../store/inbound-recipients/index.js';
import { sqlRouteStore } from '../store/routes/index.js';
import { sqlSandboxStore } from '../store/sandbox/index.js';
import { sqlQueueStore } from '../store/sql-queue-store.js';
import { spoolFor } from './open-spool.js';
import type { OpenStore } from './open-store.js';
import { secureStores } from './secure-stores.js';

/** The sandbox mailbox on the open store, for `relaygate sandbox list|show|raw|clear`. */
export function sandboxMailboxOn(store: Pick<OpenStore, 'db'>, config: Config, clock: Clock): SandboxMailbox {
  const sealing = sealedCopies({ bodies: secureStores(store.db).bodies, kek: () => keyEncryptionFor(config), now: () => clock.now() });
  return sandboxMailbox({ sandbox: sqlSandboxStore(store.db) }, { dataDir: config.dataDir, sealing });
}

/** What `relaygate sandbox inject` runs on: the acceptance of the relay port, on the open store and spool. */
export function sandboxInjection(store: Pick<OpenStore, 'db' | 'syncCommitted' | 'hashKey'>, config: Config, clock: Clock): InjectParts {
  return {
    isInboundRecipient: async (address) => (await lookUpInboundRecipient(sqlInboundRecipientStore(store.db), address)).kind === 'known',
    relayOf: (domain) => organisationRelay(sqlSandboxStore(store.db), domain),
    async acceptance() {
      let kek: KeyRing | undefined;
      const spool = sealingSpool(spoolFor(store.db, config.dataDir), {
        bodies: secureStores(store.db).bodies,
        kek: () => (kek ??= keyEncryptionFor(config)),
        now: () => clock.now(),
      });
      await spool.init();
      const queue = sqlQueueStore(store.db, store.syncCommitted);
      const ctx = { clock, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
      const checks = connector({ connector: sqlConnectorStore(store.db) }, { ctx, config, spool, queue });
      return {
        context: {
          committer: groupCommitter(spool, queue),
          clock,
          hostname: config.hostname,
          maxMessageBytes: config.smtp.maxMessageBytes,
          maxReceived: config.smtp.maxReceived,
          expireAfterMs: config.queue.expireAfter,
          verificationArrived: (token, facts) => checks.arrived(token, facts),
        },
        inbound: {
          spool,
          hostname: config.hostname,
          secureReplies: secureReplies({
            senders: secureSenders({ routes: sqlRouteStore(store.db), inboundRecipients: sqlInboundRecipientStore(store.db) }, ctx),
            messages: secureStores(store.db).messages,
            hashKey: store.hashKey,
          }),
        },
      };
    },
  };
}
