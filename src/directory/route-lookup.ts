import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { RouteTables } from '../policy/route-policy.js';
import type { RouteStore } from './route-store.js';

/** The route tables a transaction is classified with (src/policy/route-policy.ts), and the secure settings its message takes. */
export function routeLookup(stores: { routes: RouteStore }): RouteTables & { secureRetentionMs(organisationId: string): Promise<number> } {
  const { routes } = stores;
  return {
    /** The routes of the credential's organisation; the default organisation's when there is none. */
    async organisationOf(credentialId) {
      if (!credentialId) return DEFAULT_ORGANISATION_ID;
      return (await routes.organisationOfCredential(credentialId)) ?? DEFAULT_ORGANISATION_ID;
    },
    tableOf: (organisationId) => routes.table(organisationId),
    async secureRetentionMs(organisationId) {
      return ((await routes.secureRetentionDays(organisationId)) ?? 90) * 86_400_000;
    },
  };
}
