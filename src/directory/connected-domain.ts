import { DirectoryError } from '../model/directory-error.js';
import type { ConnectorState } from '../model/states.js';

/**
 * Refuses a new credential or connection for a domain whose connector is draining or
 * disconnected; a name that is no claimed domain passes (the caller checks that itself).
 * `found` is the domain's connector state as its store looked it up.
 */
export function refuseUnlessConnectedState(found: { name: string; connectorState: ConnectorState } | undefined, field: string): void {
  if (!found || found.connectorState === 'connected') return;
  const fix =
    found.connectorState === 'draining'
      ? `wait until it is disconnected ("relaygate domain disconnect ${found.name} --wait"), then run "relaygate domain reconnect ${found.name}"`
      : `reconnect it first with "relaygate domain reconnect ${found.name}"`;
  throw new DirectoryError('conflict', `domain ${found.name} is ${found.connectorState}; ${fix}`, field);
}
