import type { StoredConnection } from '../../directory/connection-store.js';
import type { ConnectionsTable } from '../tables.js';

export function toStored(row: ConnectionsTable): StoredConnection {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    scopeKind: row.scope_kind,
    scope: row.scope,
    host: row.host,
    port: Number(row.port),
    tlsMode: row.tls_mode,
    username: row.username,
    secretSealed: row.secret_sealed,
    authKind: row.auth_kind,
    oauth2TokenUrl: row.oauth2_token_url,
    oauth2ClientId: row.oauth2_client_id,
    oauth2Scope: row.oauth2_scope,
    clientCert: row.client_cert,
    clientKeySealed: row.client_key_sealed,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The columns a change writes: all but the id, the organisation and the creation time. */
export function changedColumns(connection: StoredConnection): Omit<ConnectionsTable, 'id' | 'organisation_id' | 'created_at'> {
  return {
    scope_kind: connection.scopeKind,
    scope: connection.scope,
    host: connection.host,
    port: connection.port,
    tls_mode: connection.tlsMode,
    username: connection.username,
    auth_kind: connection.authKind,
    oauth2_token_url: connection.oauth2TokenUrl,
    oauth2_client_id: connection.oauth2ClientId,
    oauth2_scope: connection.oauth2Scope,
    client_cert: connection.clientCert,
    client_key_sealed: connection.clientKeySealed,
    secret_sealed: connection.secretSealed,
    updated_at: connection.updatedAt,
  };
}
