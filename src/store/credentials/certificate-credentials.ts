import type { StoredCredential } from '../../directory/credential-model.js';
import type { Db } from '../tables.js';
import { toStored, withDomainName } from './credential-row.js';

/** Every inbound credential naming a TLS client, whatever its state; certificate-login.ts matches and ranks them. */
export async function certificateCredentials(db: Db): Promise<StoredCredential[]> {
  const rows = await withDomainName(db.selectFrom('credentials'))
    .where('credentials.kind', '=', 'inbound')
    .where('credentials.tls_client_name', 'is not', null)
    .execute();
  return rows.map(toStored);
}
