import { type RouteAction, type RouteRule, routeMatches } from './route-match.js';

/** The rules of an organisation and its default, as route decisions read them. */
export interface RouteRules {
  rules: readonly Pick<RouteRule, 'position' | 'match' | 'action'>[];
  defaultAction: RouteAction;
}

/** Senders whose mail a change takes out of `secure`: a route's match, or every sender no rule matches. */
export interface SecureLoss {
  /** `secure.example.com`, `*.example.com`, or null for the senders no rule matches (the null sender among them). */
  senders: string | null;
  /** What their mail gets instead: relayed as plain mail, or refused at MAIL FROM. */
  becomes: Exclude<RouteAction, 'secure'>;
}

/**
 * The senders that are routed `secure` before a change and not after it, whatever the change
 * was: a removed or edited rule, a new or moved rule taking precedence, or the default. Every
 * sender domain falls into one of finitely many classes by which rules can match it, so
 * comparing one representative of each class decides it for all domains:
 * - a domain a rule names (exact `d`, or the apex `d` of `*.d`);
 * - the names below such a `d` that no deeper rule names: only wildcards `*.e` with `e` = `d`
 *   or above it match them;
 * - a sender no rule can match (no domain, or a domain outside every rule): the default.
 */
export function secureLosses(before: RouteRules, after: RouteRules): SecureLoss[] {
  const bases = new Set([...before.rules, ...after.rules].map((r) => baseOf(r.match)));
  const classes: { senders: string | null; matches: (match: string) => boolean }[] = [{ senders: null, matches: () => false }];
  for (const base of bases) {
    classes.push({ senders: base, matches: (match) => routeMatches(match, base) });
    classes.push({ senders: `*.${base}`, matches: (match) => match.startsWith('*.') && coversBelow(baseOf(match), base) });
  }
  const losses: (SecureLoss & { byDefault: boolean })[] = [];
  for (const c of classes) {
    const [was, now] = [decide(before, c.matches), decide(after, c.matches)];
    if (was.action === 'secure' && now.action !== 'secure') losses.push({ senders: c.senders, becomes: now.action, byDefault: was.byDefault && now.byDefault });
  }
  // Said once: the names a lost wildcard covers, and the senders the default decides before and after.
  const covered = (l: SecureLoss & { byDefault: boolean }) =>
    losses.some(
      (other) =>
        other !== l && other.becomes === l.becomes && (other.senders === null ? l.byDefault : l.senders !== null && wildcardCovers(other.senders, l.senders)),
    );
  return losses.filter((l) => !covered(l)).map(({ senders, becomes }) => ({ senders, becomes }));
}

/** What the operator reads before confirming: which mail stops being secure, and what it becomes. */
export function describeLosses(losses: readonly SecureLoss[]): string {
  const parts = (['relay', 'reject'] as const).flatMap((becomes) => {
    const senders = losses.filter((l) => l.becomes === becomes).map((l) => (l.senders === null ? 'senders no route matches' : l.senders));
    if (senders.length === 0) return [];
    const outcome = becomes === 'relay' ? 'will then leave as plain mail, not as secure messages' : 'will then be refused at MAIL FROM';
    return [`mail from ${senders.join(', ')} ${outcome}`];
  });
  return parts.join('; ');
}

function decide(table: RouteRules, matches: (match: string) => boolean): { action: RouteAction; byDefault: boolean } {
  const rule = [...table.rules].sort((a, b) => a.position - b.position).find((r) => matches(r.match));
  return rule ? { action: rule.action, byDefault: false } : { action: table.defaultAction, byDefault: true };
}

const baseOf = (match: string) => (match.startsWith('*.') ? match.slice(2) : match);

/** `*.e` matches the names below `d` when `d` is `e` or a name below it. */
const coversBelow = (e: string, d: string) => d === e || d.endsWith(`.${e}`);

/** Whether the senders of `outer` (a wildcard) include all of `inner` (a domain or a wildcard). */
function wildcardCovers(outer: string, inner: string): boolean {
  if (!outer.startsWith('*.') || outer === inner) return false;
  return inner.startsWith('*.') ? coversBelow(baseOf(outer), baseOf(inner)) : inner.endsWith(outer.slice(1));
}
