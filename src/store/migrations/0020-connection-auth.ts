import type { Kysely } from 'kysely';

/**
 * Outbound connections to Microsoft 365 and Google Workspace (issue 23): a client certificate
 * the gateway presents on STARTTLS (its key sealed like the SMTP secret), and OAuth 2.0
 * client-credentials authentication (XOAUTH2 or OAUTHBEARER) whose client secret is the
 * connection's existing sealed secret. auth_kind null means SMTP AUTH with a password.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['auth_kind', 'oauth2_token_url', 'oauth2_client_id', 'oauth2_scope', 'client_cert', 'client_key_sealed']) {
    await db.schema.alterTable('connections').addColumn(column, 'text').execute();
  }
}
