import type { Kysely } from 'kysely';

/**
 * An inbound credential that authenticates by TLS client certificate instead of SMTP AUTH
 * (Exchange Online's outbound connectors cannot AUTH): the DNS name the certificate must be
 * valid for. Such a credential has no secret; its secret_hash is empty, which no secret matches.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('credentials').addColumn('tls_client_name', 'text').execute();
}
