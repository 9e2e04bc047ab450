import type { ConnectorState } from '../model/states.js';
import type { DomainStatus } from './domain-store.js';

/** The reads of sender authorization (src/directory/sender-authorization.ts): every check reads the store. */
export interface SenderStore {
  /** A credential as the sender check needs it; undefined for an unknown id. */
  submitter(credentialId: string): Promise<
    | {
        kind: 'submission' | 'inbound';
        organisationId: string;
        /** JSON array of addresses or `@domain` entries (credential-model.ts parseList), null for none. */
        allowedSendersJson: string | null;
        revokedAt: number | null;
        expiresAt: number | null;
        retireAt: number | null;
      }
    | undefined
  >;
  /** The claimed domains of any of these exact names, whichever organisation holds them. */
  domainsNamed(names: string[]): Promise<{ name: string; organisationId: string; status: DomainStatus; connectorState: ConnectorState }[]>;
}
