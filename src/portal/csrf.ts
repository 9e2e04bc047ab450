/** What a portal form's CSRF token is bound to: the session once signed in, the link before. */
export function sessionScope(sessionId: string): string {
  return `portal-session:${sessionId}`;
}

export function tokenScope(portalToken: string): string {
  return `portal-token:${portalToken}`;
}
