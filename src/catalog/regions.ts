import type { Catalog, GeoPrefix } from './catalog.js';

const REGION_PATTERN = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** Whether a string looks like an AWS region name (`us-west-2`, `eu-central-1`, `us-gov-west-1`). */
export function isRegionName(region: string): boolean {
  return REGION_PATTERN.test(region);
}

function matches(pattern: string, region: string): boolean {
  return pattern.endsWith('*') ? region.startsWith(pattern.slice(0, -1)) : pattern === region;
}

/**
 * The geo profile prefix whose data stays with a region: `us-*`/`ca-*` → `us`, `eu-*` → `eu`,
 * `ap-northeast-1`/`-3` → `jp`, `ap-southeast-2`/`-4` → `au`, other `ap-*` → `apac`.
 * `undefined` for regions outside every geography the catalog knows.
 */
export function regionToGeo(region: string, catalog: Catalog): GeoPrefix | undefined {
  if (catalog.data.globalExcludedRegions.some((p) => matches(p, region))) return undefined;
  const geos = catalog.data.geos;
  // Exact names first, so `ap-northeast-1` is `jp` even though `ap-*` is `apac`.
  for (const [prefix, geo] of Object.entries(geos)) {
    if (geo.regions.some((p) => !p.endsWith('*') && p === region)) return prefix as GeoPrefix;
  }
  for (const [prefix, geo] of Object.entries(geos)) {
    if (geo.regions.some((p) => p.endsWith('*') && matches(p, region))) return prefix as GeoPrefix;
  }
  return undefined;
}

/** Whether `global.` profiles can be called from this region (commercial regions only). */
export function globalAllowedFrom(region: string, catalog: Catalog): boolean {
  return !catalog.data.globalExcludedRegions.some((p) => matches(p, region));
}

/** A region people can call a geo profile from, for suggestions (`eu` → `eu-west-1`). */
export const EXAMPLE_REGION: Record<GeoPrefix, string> = {
  us: 'us-east-1',
  eu: 'eu-west-1',
  jp: 'ap-northeast-1',
  apac: 'ap-southeast-1',
  au: 'ap-southeast-2',
};
