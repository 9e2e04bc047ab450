import type { AuditEntry } from '../audit/audit-log.js';
import type { RouteAction } from '../model/states.js';
import type { Actor, PageRequest } from './context.js';
import type { Route, RouteTable } from './routes.js';

export interface RouteReads {
  /** The organisation's rules in position order, with its default action (`relay` for an unknown organisation). */
  table(organisationId: string): Promise<RouteTable>;
  /** A page of the organisation's rules in position order, and how many it has. */
  list(organisationId: string, page: PageRequest): Promise<{ items: Route[]; total: number }>;
  find(organisationId: string, id: string): Promise<Route | undefined>;
  /** The organisation's default action; undefined for an unknown organisation. */
  defaultAction(organisationId: string): Promise<RouteAction | undefined>;
  /** The organisation a credential belongs to; undefined for an unknown credential. */
  organisationOfCredential(credentialId: string): Promise<string | undefined>;
  /** The days the organisation's secure messages stay readable; undefined for an unknown organisation. */
  secureRetentionDays(organisationId: string): Promise<number | undefined>;
}

export interface RouteChanges extends RouteReads {
  count(organisationId: string): Promise<number>;
  /** The organisation's rule with exactly this (normalised) match. */
  findByMatch(organisationId: string, match: string): Promise<Route | undefined>;
  insert(organisationId: string, route: Route): Promise<void>;
  update(id: string, fields: Partial<Pick<Route, 'match' | 'action' | 'description'>>): Promise<void>;
  setPosition(id: string, position: number): Promise<void>;
  /** Moves the organisation's rules at positions from…to (inclusive; to the end without `to`) by `by`. */
  shift(organisationId: string, range: { from: number; to?: number | undefined; by: 1 | -1 }): Promise<void>;
  remove(id: string): Promise<void>;
  setDefaultAction(organisationId: string, action: RouteAction): Promise<void>;
  /** Appends to the audit chain in this transaction (src/store/audit/append-audit.ts). */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}

export interface RouteStore extends RouteReads {
  /** Runs `work` in one transaction: every change and audit record in it commits together, or none. */
  change<T>(work: (tx: RouteChanges) => Promise<T>): Promise<T>;
}
