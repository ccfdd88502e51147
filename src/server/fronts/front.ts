import type { RouteGroup } from '../pipeline.js';

export type { Front, MatchedRoute, RouteGroup, RouteSpec } from '../pipeline.js';

/** The listed routes of a front, for a not-found answer's fix: `POST /v1/messages, GET /v1/models`. */
export function describeRoutes(group: RouteGroup): string {
  return group.routes
    .filter((r) => !r.unlisted && typeof r.path === 'string')
    .map((r) => `${r.method === '*' ? 'ANY' : r.method} ${String(r.path)}`)
    .join(', ');
}
