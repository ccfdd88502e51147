import { backendFor, idFor } from '../catalog/backends.js';
import type { Backend, Catalog, ProfilePrefix } from '../catalog/catalog.js';
import { regionToGeo } from '../catalog/regions.js';
import { findModelForId, parseModelInput, resolveModel, type Scope } from '../catalog/resolve-model.js';
import { invalidRequest } from '../errors.js';
import type { SanitizePolicy } from '../translate/sanitize.js';
import type { ApplicationProfiles } from './application-profiles.js';
import type { Target } from '../transport/bedrock-transport.js';

export type RouteTarget = Omit<Target, 'model'>;
/** A route: its targets in order, and optionally its own sanitising policy. */
export type Route = RouteTarget[] | { policy?: SanitizePolicy | undefined; targets: RouteTarget[] };

function targetsOf(route: Route): RouteTarget[] {
  return Array.isArray(route) ? route : route.targets;
}

export interface RouterOptions {
  catalog: Catalog;
  region: string;
  scope: Scope;
  /** Client model name → ordered targets (with an optional policy of its own). */
  routes?: Record<string, Route> | undefined;
  /** Regions to fail over to for catalog (default) routes, after `region`. */
  fallbackRegions?: string[] | undefined;
  /** What is known of application inference profiles (their model and reach). */
  profiles?: ApplicationProfiles | undefined;
}

function geoOf(target: RouteTarget, catalog: Catalog): string | undefined {
  // Claude Platform on AWS is Anthropic-operated: where a workspace's inference runs is not bound to its region.
  if (target.backend === 'platform') return 'global';
  const parsed = parseModelInput(target.modelId);
  const inner = parsed.kind === 'arn' ? parseModelInput(parsed.arn!.resource) : parsed;
  if (inner.kind === 'profile-id') return inner.prefix === 'global' ? 'global' : inner.prefix;
  return regionToGeo(target.region, catalog);
}

/** With scope geo or in-region, fallback regions and routes that would leave the home geography are refused. */
function checkResidency(options: RouterOptions, regions: readonly string[]): void {
  const { catalog, scope } = options;
  const home = regionToGeo(options.region, catalog);
  for (const r of regions) {
    if (regionToGeo(r, catalog) !== home)
      throw new Error(
        `config: fallback region ${r} is outside the ${home ?? options.region} geography, which scope "${scope}" ` +
          `must not leave`,
      );
  }
  for (const [name, route] of Object.entries(options.routes ?? {})) {
    const geos = new Set(targetsOf(route).map((t) => geoOf(t, catalog)));
    if (geos.has('global') || geos.size > 1) {
      throw new Error(
        `config: route "${name}" mixes geographies (${[...geos].join(', ')}); scope "${scope}" keeps data in one ` +
          `geography`,
      );
    }
  }
}

/** The endpoint a configured target goes to when it does not say: the model's first that takes its ID form. */
function defaultBackend(modelId: string, model: Target['model']): Backend {
  const parsed = parseModelInput(modelId);
  if (parsed.kind === 'arn') return 'invoke';
  if (parsed.kind === 'profile-id' && parsed.prefix)
    return backendFor(model, { kind: 'profile', prefix: parsed.prefix as ProfilePrefix });
  return model ? backendFor(model, { kind: 'bare', onDemand: model.onDemandInRegion }) : 'invoke';
}

/**
 * A configured route's targets, each with the ID its endpoint takes (a bare ID on mantle, the Anthropic name on
 * Claude Platform on AWS); a target that does not name its endpoint gets the model's (the catalog's data).
 */
function routedTargets(route: Parameters<typeof targetsOf>[0], catalog: Catalog): Target[] {
  return targetsOf(route).map((t) => {
    const model = findModelForId(t.modelId, catalog);
    const backend = t.backend ?? defaultBackend(t.modelId, model);
    const target: Target = Object.assign({}, t, { model, backend, modelId: idFor(backend, model, t.modelId) });
    // Claude Platform on AWS bills at the list prices; its inference may run anywhere (see geoOf).
    if (backend === 'platform') target.pricedAs = 'global';
    return target;
  });
}

/** The catalog's answer in the gateway's region, then each fallback region; the first error when none fits. */
function resolvedTargets(
  model: string,
  regions: readonly string[],
  scope: Scope,
  catalog: Catalog,
  profiles: ApplicationProfiles | undefined,
): Target[] {
  const targets: Target[] = [];
  let firstError: unknown;
  const applicationProfile = profiles?.get(model);
  for (const region of regions) {
    try {
      const r = resolveModel(model, { region, scope, catalog, applicationProfile });
      // Each ID goes to the endpoint that takes it (the resolver's choice from the model's backends).
      const target: Target = { region, modelId: r.modelId, model: r.model, backend: r.backend };
      if (r.unlisted) target.unlisted = true;
      if (applicationProfile) target.pricedAs = r.scope;
      if (!targets.some((t) => t.modelId === target.modelId && t.region === region)) targets.push(target);
    } catch (err) {
      firstError ??= err;
    }
  }
  if (!targets.length) throw firstError ?? invalidRequest(`No route for model "${model}".`);
  return targets;
}

/**
 * Maps a client model name to an ordered list of upstream targets: a configured route, or the
 * catalog's answer for the gateway's region (then each fallback region) within its scope.
 * With scope `geo` or `in-region`, every target must stay in one geography (data residency): a
 * route or fallback region that would leave it is refused when the gateway starts.
 */
export function createRouter(options: RouterOptions) {
  const { catalog, scope } = options;
  const regions = [options.region, ...(options.fallbackRegions ?? [])];

  if (scope !== 'global') checkResidency(options, regions);
  // Own properties only: a model named `toString` or `__proto__` is an unknown name, not a route.
  const routeOf = (model: string) =>
    options.routes && Object.hasOwn(options.routes, model) ? options.routes[model] : undefined;

  return {
    /** Ordered targets for a client model name. Throws the resolver's error (404 / 400) when nothing fits. */
    targetsFor(model: string): Target[] {
      const routed = routeOf(model);
      return routed
        ? routedTargets(routed, catalog)
        : resolvedTargets(model, regions, scope, catalog, options.profiles);
    },
    /** The sanitising policy of a configured route, if it has its own. */
    policyFor(model: string): SanitizePolicy | undefined {
      const routed = routeOf(model);
      return routed && !Array.isArray(routed) ? routed.policy : undefined;
    },
    /** What is known of application inference profiles, and how more is learnt (the route stage asks first). */
    profiles: options.profiles,
    /** Client model names with a configured route. */
    routeNames(): string[] {
      return Object.keys(options.routes ?? {});
    },
  };
}

export type Router = ReturnType<typeof createRouter>;
