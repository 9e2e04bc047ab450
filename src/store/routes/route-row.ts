import type { Route } from '../../directory/routes.js';
import type { RoutesTable } from '../tables.js';

export function toRoute(row: RoutesTable): Route {
  return {
    id: row.id,
    position: Number(row.position),
    match: row.match,
    action: row.action,
    description: row.description,
    createdAt: Number(row.created_at),
  };
}
