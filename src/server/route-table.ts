import type { Front, MatchedRoute, RouteGroup, RouteSpec } from './pipeline.js';

interface Compiled {
  group: RouteGroup;
  front: Front | undefined;
  spec: RouteSpec;
  method: string;
  label: string;
  /** Undefined for a template without parameters (matched by the map). */
  pattern: RegExp | undefined;
}

const isFront = (group: RouteGroup): group is Front => 'decode' in group && 'encode' in group;

function compile(group: RouteGroup, spec: RouteSpec): Compiled {
  if (spec.call && !isFront(group))
    throw new TypeError(`${group.name}: a model call route needs a front (decode and encode)`);
  const front = spec.call && isFront(group) ? group : undefined;
  if (spec.path instanceof RegExp)
    return { group, front, spec, method: spec.method, label: 'other', pattern: spec.path };
  const template = spec.path;
  if (!template.includes('{') && !template.endsWith('/*'))
    return { group, front, spec, method: spec.method, label: template, pattern: undefined };
  const source = template
    .split('/')
    .map((segment) =>
      segment === '*' ? '.*' : /^\{\w+\}$/.test(segment) ? '([^/]+)' : segment.replace(/[.+?^$()[\]\\|]/g, '\\$&'),
    )
    .join('/');
  return { group, front, spec, method: spec.method, label: template, pattern: new RegExp(`^${source}$`) };
}

/**
 * The gateway's routes, from the fronts' and route groups' own lists: a static path is one map
 * lookup, the rest are tried in the order they list them. What no route serves falls to `fallback`.
 */
export function createRouteTable(groups: readonly RouteGroup[], fallback: RouteGroup) {
  const exact = new Map<string, Compiled>();
  const patterns: Compiled[] = [];
  for (const group of groups) {
    for (const spec of group.routes) {
      const c = compile(group, spec);
      if (c.pattern) patterns.push(c);
      else exact.set(`${c.method} ${c.label}`, c);
    }
  }
  const matched = (c: Compiled, pathname: string, params: string[]): MatchedRoute => ({
    group: c.group,
    front: c.front,
    spec: c.spec,
    params,
    pathname,
    label: c.label,
  });
  const notFound: RouteSpec = { method: '*', path: /.*/, unlisted: true };

  return {
    /** The route for a request; the fallback front's not-found route when none serves it. */
    match(method: string, pathname: string): MatchedRoute {
      const m = method === 'HEAD' ? 'GET' : method;
      const hit = exact.get(`${m} ${pathname}`) ?? exact.get(`* ${pathname}`);
      if (hit) return matched(hit, pathname, []);
      for (const c of patterns) {
        if (c.method !== '*' && c.method !== m) continue;
        const found = c.pattern!.exec(pathname);
        if (found) return matched(c, pathname, found.slice(1));
      }
      return { group: fallback, front: undefined, spec: notFound, params: [], pathname, label: 'other' };
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
