/** What an API token opens: the admin API, or /scim/v2 alone. Its own module: the CLI lists them without loading the store. */
export type TokenScope = 'admin' | 'scim';
export const TOKEN_SCOPES: readonly TokenScope[] = ['admin', 'scim'];
