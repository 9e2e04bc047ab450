import type { Transaction } from 'kysely';
import { type AuditEntry, appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { newId } from '../lib/ids.js';
import { ConfirmationRequired, DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { decideRoute, isRouteAction, normaliseRouteMatch, type RouteAction, type RouteRule, routeName, senderDomain } from '../policy/route-match.js';
import { describeLosses, secureLosses } from '../policy/route-weakening.js';
import type { Database, Db } from '../store/tables.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

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

type Trx = Transaction<Database>;
type RouteRow = Database['routes'];

/** The rules of an organisation in order, with its default: what routePolicy decides with at MAIL FROM. */
export async function loadRouteTable(db: Db, organisationId: string): Promise<RouteTable> {
  const rows = await db.selectFrom('routes').selectAll().where('organisation_id', '=', organisationId).orderBy('position').execute();
  const organisation = await db.selectFrom('organisations').select('default_route_action').where('id', '=', organisationId).executeTakeFirst();
  return { rules: rows.map(toRoute), defaultAction: organisation?.default_route_action ?? 'relay' };
}

/**
 * Ordered rules on the envelope sender's domain (DESIGN.md, concepts: route). Positions are
 * 1…n without gaps; every change renumbers in the same transaction as its audit record.
 */
export function routeDirectory(ctx: DirectoryContext, _config: Config, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;
  const change = <T>(work: (trx: Trx, now: number) => Promise<T>): Promise<T> => db.transaction().execute((trx) => work(trx, clock.now()));
  /**
   * A change and its audit record in one transaction, the table compared before and after it:
   * whatever the change (removed, edited, new or moved rule, the default), one that takes some
   * senders out of `secure` is rolled back unless confirmed, and its audit record says it was.
   */
  const guarded = <T>(actor: Actor, options: ConfirmOption, work: (trx: Trx, now: number) => Promise<{ value: T; audit: AuditEntry }>): Promise<T> =>
    change(async (trx, now) => {
      const before = await loadRouteTable(trx, organisationId);
      const { value, audit } = await work(trx, now);
      const losses = secureLosses(before, await loadRouteTable(trx, organisationId));
      if (losses.length > 0 && !options.confirmed) throw new ConfirmationRequired(describeLosses(losses));
      const confirmation = losses.length > 0 ? { confirmed: true, secureLost: describeLosses(losses) } : {};
      await appendAudit(trx, actor, { ...audit, detail: { ...audit.detail, ...confirmation } }, now);
      return value;
    });

  return {
    async list(page: PageRequest): Promise<Page<Route> & { defaultAction: RouteAction }> {
      const total = await db
        .selectFrom('routes')
        .where('organisation_id', '=', organisationId)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const rows = await db
        .selectFrom('routes')
        .selectAll()
        .where('organisation_id', '=', organisationId)
        .orderBy('position')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return { items: rows.map(toRoute), total: Number(total?.n ?? 0), ...page, defaultAction: await defaultActionOf(db, organisationId) };
    },

    async get(id: string): Promise<Route> {
      return toRoute(await findRow(db, organisationId, id));
    },

    async add(input: RouteInput, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      const match = checkMatch(input.match);
      const action = checkAction(input.action);
      const description = checkDescription(input.description ?? '');
      return guarded(actor, options, async (trx, now) => {
        await refuseDuplicate(trx, organisationId, match);
        const count = await countRoutes(trx, organisationId);
        const position = input.position ?? count + 1;
        checkPosition(position, count + 1);
        await shift(trx, organisationId, { from: position, to: count, by: 1 });
        const row: RouteRow = { id: newId('rte'), organisation_id: organisationId, position, match, action, description, created_at: now };
        await trx.insertInto('routes').values(row).execute();
        return { value: toRoute(row), audit: { action: 'route.add', targetType: 'route', targetId: row.id, detail: { match, action, position, description } } };
      });
    },

    async update(id: string, patch: RoutePatch, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      const fields = {
        ...(patch.match !== undefined ? { match: checkMatch(patch.match) } : {}),
        ...(patch.action !== undefined ? { action: checkAction(patch.action) } : {}),
        ...(patch.description !== undefined ? { description: checkDescription(patch.description) } : {}),
      };
      return guarded(actor, options, async (trx) => {
        const row = await findRow(trx, organisationId, id);
        if (fields.match !== undefined && fields.match !== row.match) await refuseDuplicate(trx, organisationId, fields.match);
        if (Object.keys(fields).length > 0) await trx.updateTable('routes').set(fields).where('id', '=', id).execute();
        const position = patch.position === undefined ? row.position : await moveRow(trx, organisationId, row, patch.position);
        const detail = { ...fields, ...(position !== row.position ? { from: row.position, position } : {}) };
        return { value: toRoute({ ...row, ...fields, position }), audit: { action: 'route.update', targetType: 'route', targetId: id, detail } };
      });
    },

    async move(id: string, position: number, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      return guarded(actor, options, async (trx) => {
        const row = await findRow(trx, organisationId, id);
        const moved = await moveRow(trx, organisationId, row, position);
        return {
          value: toRoute({ ...row, position: moved }),
          audit: { action: 'route.move', targetType: 'route', targetId: id, detail: { from: row.position, position: moved } },
        };
      });
    },

    async remove(id: string, actor: Actor, options: ConfirmOption = {}): Promise<Route> {
      return guarded(actor, options, async (trx) => {
        const row = await findRow(trx, organisationId, id);
        await trx.deleteFrom('routes').where('id', '=', id).execute();
        await shift(trx, organisationId, { from: row.position + 1, by: -1 });
        return { value: toRoute(row), audit: { action: 'route.remove', targetType: 'route', targetId: id, detail: { match: row.match, action: row.action } } };
      });
    },

    async defaultAction(): Promise<RouteAction> {
      return defaultActionOf(db, organisationId);
    },

    async setDefault(action: string, actor: Actor, options: ConfirmOption = {}): Promise<RouteAction> {
      const checked = checkAction(action);
      return guarded(actor, options, async (trx) => {
        const from = await defaultActionOf(trx, organisationId);
        await trx.updateTable('organisations').set({ default_route_action: checked }).where('id', '=', organisationId).execute();
        return { value: checked, audit: { action: 'route.default', targetType: 'organisation', targetId: organisationId, detail: { from, action: checked } } };
      });
    },

    /** What the gateway would decide at MAIL FROM for this sender ('' or '<>' is the null sender). */
    async test(sender: string): Promise<RouteTest> {
      const mailFrom = sender.trim().replace(/^<(.*)>$/, '$1');
      const table = await loadRouteTable(db, organisationId);
      const decision = decideRoute(table.rules, table.defaultAction, mailFrom);
      const rule = decision.source === 'rule' ? (table.rules.find((r) => r.id === decision.rule.id) ?? null) : null;
      return { sender: mailFrom, domain: senderDomain(mailFrom) ?? null, action: decision.action, source: decision.source, rule };
    },
  };
}

export type RouteDirectory = ReturnType<typeof routeDirectory>;

/** How a refusal names the route: policy/route-match.ts (the CLI's `route test` imports it from here). */
export { routeName };

async function moveRow(trx: Trx, organisationId: string, row: RouteRow, position: number): Promise<number> {
  const count = await countRoutes(trx, organisationId);
  checkPosition(position, count);
  if (position === row.position) return position;
  // Close the gap it leaves and open one where it goes: the rules in between move by one.
  if (position > row.position) await shift(trx, organisationId, { from: row.position + 1, to: position, by: -1 });
  else await shift(trx, organisationId, { from: position, to: row.position - 1, by: 1 });
  await trx.updateTable('routes').set({ position }).where('id', '=', row.id).execute();
  return position;
}

/**
 * Moves the rules at positions from…to (inclusive; to the end without `to`) by `by`. No
 * sentinel for the end: PostgreSQL refuses a bound beyond its integer column's range.
 */
async function shift(trx: Trx, organisationId: string, range: { from: number; to?: number; by: 1 | -1 }): Promise<void> {
  const { to } = range;
  if (to !== undefined && range.from > to) return;
  await trx
    .updateTable('routes')
    .set((eb) => ({ position: eb('position', '+', range.by) }))
    .where('organisation_id', '=', organisationId)
    .where('position', '>=', range.from)
    .$if(to !== undefined, (qb) => qb.where('position', '<=', to as number))
    .execute();
}

async function findRow(db: Db | Trx, organisationId: string, id: string): Promise<RouteRow> {
  const row = await db.selectFrom('routes').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
  if (!row) throw new DirectoryError('not_found', `no route ${id}; see "relaygate route list"`);
  return row;
}

async function countRoutes(trx: Trx, organisationId: string): Promise<number> {
  const result = await trx
    .selectFrom('routes')
    .where('organisation_id', '=', organisationId)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(result?.n ?? 0);
}

async function defaultActionOf(db: Db | Trx, organisationId: string): Promise<RouteAction> {
  const row = await db.selectFrom('organisations').select('default_route_action').where('id', '=', organisationId).executeTakeFirst();
  if (!row) throw notFound('organisation', organisationId);
  return row.default_route_action;
}

/** A second rule with the same match could never apply: the first one always wins. */
async function refuseDuplicate(trx: Trx, organisationId: string, match: string): Promise<void> {
  const existing = await trx
    .selectFrom('routes')
    .select(['id', 'position'])
    .where('organisation_id', '=', organisationId)
    .where('match', '=', match)
    .executeTakeFirst();
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

function toRoute(row: RouteRow): Route {
  return {
    id: row.id,
    position: Number(row.position),
    match: row.match,
    action: row.action,
    description: row.description,
    createdAt: Number(row.created_at),
  };
}
