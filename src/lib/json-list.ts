/** A list kept as a JSON array of strings in one column (allowed senders, allowed networks); null stays null. */
export function parseList(json: string | null): string[] | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.map(String) : null;
}
