import type { AuditEntry } from '../audit/audit-log.js';
import { newId } from '../lib/ids.js';
import { ConfirmationRequired, DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { decideRoute, isRouteAction, normaliseRouteMatch, type RouteAction, type RouteRule, routeName, senderDomain } from '../policy/route-match.js';
import { describeLosses, secureLosses } from '../policy/route-weakening.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import type { RouteChanges, RouteReads, RouteStore } from './route-store.js';

export interface Route extends RouteRule {
  description: string;
  createdAt: number;
}

export interface RouteInput {
  match: string;
  action: string;
  description?: string | undefined;
  /** Where to insert it (1 = tried first); at the end when omitted. */
  position?: number | undefined;
}

export interface RoutePatch {
  match?: string | undefined;
  action?: string | undefined;
  description?: string | undefined;
  position?: number | undefined;
}

/** Which rule a sender meets, as `route test` shows it. */
export interface RouteTest {
  sender: string;
  domain: string | null;
  action: RouteAction;
  source: 'rule' | 'default';
  rule: Route | null;
}

/** Every change that can take mail out of `secure` takes this; without it such a change is refused (ConfirmationRequired). */
export interface ConfirmOption {
  /** The operator confirmed that the senders named in the ConfirmationRequired may leave `secure`. */
  confirmed?: boolean | undefined;
}

export interface RouteTable {
  rules: Route[];
  defaultAction: RouteAction;
}

/**
 * Ordered rules on the envelope sender's domain (DESIGN.md, concepts: route). Positions are
 * 1…n without gaps; every change renumbers in the same transaction as its audit record.
 */
export function routeDirectory(stores: { routes: RouteStore }, deps: Pick<DirectoryContext, 'clock'>, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { routes } = stores;
  const { clock } = deps;
  const change = <T>(work: (tx: RouteChanges, now: number) => Promise<T>): Promise<T> => routes.change((tx) => work(tx, clock.now()));
  /**
   * A change and its audit record in one transaction, the table compared before and after it:
   * whatever the change (removed, edited, new or moved rule, the default), one that takes some
   * senders out of `secure` is rolled back unless confirmed, and its audit record says it was.
   */
  const guarded = <T>(actor: Actor, options: ConfirmOption, work: (tx: RouteChanges, now: number) => Promise<{ value: T; audit: AuditEntry }>): Promise<T> =>
    change(async (tx, now) => {
      const before = await tx.table(organisationId);
      const { value, audit } = await work(tx, now);
      const losses = secureLosses(before, await tx.table(organisationId));
      if (losses.length > 0 && !options.confirmed) throw new ConfirmationRequired(describeLosses(losses));
      const confirmation = losses.length > 0 ? { confirmed: true, secureLost: describeLosses(losses) } : {};
      await tx.audit(actor, { ...audit, detail: { ...audit.detail, ...confirmation } }, now);
      return value;
    });

  return {
    async list(page: PageRequest): Promise<Page<Route> & { defaultAction: RouteAction }> {
      const { items, total } = await routes.list(organisationId, page);
      return { items, total, ...page, defaultAction: await defaultActionOf(routes, organisationId) };
    },

    async get(id: string): Promise<Route> {
      return findRoute(routes, organisationId, id);
    },

    async add(input: RouteInput, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      const match = checkMatch(input.match);
      const action = checkAction(input.action);
      const description = checkDescription(input.description ?? '');
      return guarded(actor, options, async (tx, now) => {
        await refuseDuplicate(tx, organisationId, match);
        const count = await tx.count(organisationId);
        const position = input.position ?? count + 1;
        checkPosition(position, count + 1);
        await tx.shift(organisationId, { from: position, to: count, by: 1 });
        const route: Route = { id: newId('rte'), position, match, action, description, createdAt: now };
        await tx.insert(organisationId, route);
        return { value: route, audit: { action: 'route.add', targetType: 'route', targetId: route.id, detail: { match, action, position, description } } };
      });
    },

    async update(id: string, patch: RoutePatch, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      const fields = {
        ...(patch.match !== undefined ? { match: checkMatch(patch.match) } : {}),
        ...(patch.action !== undefined ? { action: checkAction(patch.action) } : {}),
        ...(patch.description !== undefined ? { description: checkDescription(patch.description) } : {}),
      };
      return guarded(actor, options, async (tx) => {
        const route = await findRoute(tx, organisationId, id);
        if (fields.match !== undefined && fields.match !== route.match) await refuseDuplicate(tx, organisationId, fields.match);
        if (Object.keys(fields).length > 0) await tx.update(id, fields);
        const position = patch.position === undefined ? route.position : await moveRoute(tx, organisationId, route, patch.position);
        const detail = { ...fields, ...(position !== route.position ? { from: route.position, position } : {}) };
        return { value: { ...route, ...fields, position }, audit: { action: 'route.update', targetType: 'route', targetId: id, detail } };
      });
    },

    async move(id: string, position: number, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      return guarded(actor, options, async (tx) => {
        const route = await findRoute(tx, organisationId, id);
        const moved = await moveRoute(tx, organisationId, route, position);
        return {
          value: { ...route, position: moved },
          audit: { action: 'route.move', targetType: 'route', targetId: id, detail: { from: route.position, position: moved } },
        };
      });
    },

    async remove(id: string, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      return guarded(actor, options, async (tx) => {
        const route = await findRoute(tx, organisationId, id);
        await tx.remove(id);
        await tx.shift(organisationId, { from: route.position + 1, by: -1 });
        return { value: route, audit: { action: 'route.remove', targetType: 'route', targetId: id, detail: { match: route.match, action: route.action } } };
      });
    },

    async defaultAction(): Promise<RouteAction> {
      return defaultActionOf(routes, organisationId);
    },

    async setDefault(action: string, actor: Actor, options: ConfirmOption = {}): Promise<RouteAction> {
      const checked = checkAction(action);
      return guarded(actor, options, async (tx) => {
        const from = await defaultActionOf(tx, organisationId);
        await tx.setDefaultAction(organisationId, checked);
        return { value: checked, audit: { action: 'route.default', targetType: 'organisation', targetId: organisationId, detail: { from, action: checked } } };
      });
    },

    /** What the gateway would decide at MAIL FROM for this sender ('' or '<>' is the null sender). */
    async test(sender: string): Promise<RouteTest> {
      const mailFrom = sender.trim().replace(/^<(.*)>$/, '$1');
      const table = await routes.table(organisationId);
      const decision = decideRoute(table.rules, table.defaultAction, mailFrom);
      const rule = decision.source === 'rule' ? (table.rules.find((r) => r.id === decision.rule.id) ?? null) : null;
      return { sender: mailFrom, domain: senderDomain(mailFrom) ?? null, action: decision.action, source: decision.source, rule };
    },
  };
}

export type RouteDirectory = ReturnType<typeof routeDirectory>;

/** How a refusal names the route: policy/route-match.ts (the CLI's `route test` imports it from here). */
export { routeName };

async function moveRoute(tx: RouteChanges, organisationId: string, route: Route, position: number): Promise<number> {
  const count = await tx.count(organisationId);
  checkPosition(position, count);
  if (position === route.position) return position;
  // Close the gap it leaves and open one where it goes: the rules in between move by one.
  if (position > route.position) await tx.shift(organisationId, { from: route.position + 1, to: position, by: -1 });
  else await tx.shift(organisationId, { from: position, to: route.position - 1, by: 1 });
  await tx.setPosition(route.id, position);
  return position;
}

async function findRoute(routes: RouteReads, organisationId: string, id: string): Promise<Route> {
  const route = await routes.find(organisationId, id);
  if (!route) throw new DirectoryError('not_found', `no route ${id}; see "relaygate route list"`);
  return route;
}

async function defaultActionOf(routes: RouteReads, organisationId: string): Promise<RouteAction> {
  const action = await routes.defaultAction(organisationId);
  if (action === undefined) throw notFound('organisation', organisationId);
  return action;
}

/** A second rule with the same match could never apply: the first one always wins. */
async function refuseDuplicate(tx: RouteChanges, organisationId: string, match: string): Promise<void> {
  const existing = await tx.findByMatch(organisationId, match);
  if (existing)
    throw new DirectoryError('conflict', `route ${existing.id} (position ${existing.position}) already matches ${match}; update it instead`, 'match');
}

function checkMatch(text: string): string {
  const parsed = normaliseRouteMatch(text);
  if ('problem' in parsed) throw invalid('match', parsed.problem);
  return parsed.match;
}

function checkAction(text: string): RouteAction {
  if (!isRouteAction(text)) throw invalid('action', `action must be secure, relay or reject, not "${text}"`);
  return text;
}

function checkDescription(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length > 200) throw invalid('description', 'description must be at most 200 characters');
  return trimmed;
}

function checkPosition(position: number, last: number): void {
  if (!Number.isInteger(position) || position < 1 || position > last) {
    throw invalid('position', `position must be a whole number from 1 to ${last}`);
  }
}
