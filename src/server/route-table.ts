import type { Front, MatchedRoute, RouteSpec } from './fronts/front.js';

interface Compiled {
  front: Front;
  spec: RouteSpec;
  method: string;
  label: string;
  /** Undefined for a template without parameters (matched by the map). */
  pattern: RegExp | undefined;
}

function compile(front: Front, spec: RouteSpec): Compiled {
  if (spec.path instanceof RegExp) return { front, spec, method: spec.method, label: 'other', pattern: spec.path };
  const template = spec.path;
  if (!template.includes('{') && !template.endsWith('/*')) return { front, spec, method: spec.method, label: template, pattern: undefined };
  const source = template
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : /^\{\w+\}$/.test(segment) ? '([^/]+)' : segment.replace(/[.+?^$()[\]\\|]/g, '\\$&')))
    .join('/');
  return { front, spec, method: spec.method, label: template, pattern: new RegExp(`^${source}$`) };
}

/**
 * The gateway's routes, from the fronts' own route lists: a static path is one map lookup, the
 * rest are tried in the order the fronts list them. What no route serves falls to `fallback`.
 */
export function createRouteTable(fronts: readonly Front[], fallback: Front) {
  const exact = new Map<string, Compiled>();
  const patterns: Compiled[] = [];
  for (const front of fronts) {
    for (const spec of front.routes) {
      const c = compile(front, spec);
      if (c.pattern) patterns.push(c);
      else exact.set(`${c.method} ${c.label}`, c);
    }
  }
  const matched = (c: Compiled, pathname: string, params: string[]): MatchedRoute => ({ front: c.front, spec: c.spec, params, pathname, label: c.label });
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
      return { front: fallback, spec: notFound, params: [], pathname, label: 'other' };
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
