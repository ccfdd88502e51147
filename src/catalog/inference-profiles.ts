import type { Catalog } from './catalog.js';
import { globalAllowedFrom, regionToGeo } from './regions.js';

/** One entry of Bedrock's ListInferenceProfiles answer. */
export interface InferenceProfileSummary {
  inferenceProfileName: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  inferenceProfileArn: string;
  models: Array<{ modelArn: string }>;
  inferenceProfileId: string;
  status: 'ACTIVE';
  type: 'SYSTEM_DEFINED';
}

/**
 * The system-defined inference profiles callable from a region (the global ones and the region's
 * geography), in the shape of Bedrock's `GET /inference-profiles?type=SYSTEM_DEFINED`.
 */
export function systemInferenceProfiles(region: string, catalog: Catalog, account: string): InferenceProfileSummary[] {
  const geo = regionToGeo(region, catalog);
  return catalog.models
    .filter((m) => m.lifecycle.status !== 'retired')
    .flatMap((m) =>
      m.profiles
        .filter((p) => (p === 'global' ? globalAllowedFrom(region, catalog) : p === geo))
        .map((p) => ({
          inferenceProfileName: `${p === 'global' ? 'Global' : p.toUpperCase()} ${m.displayName}`,
          description:
            `Routes requests to ${m.displayName} in ` +
            `${p === 'global' ? 'any commercial region' : catalog.data.geos[p].label}.`,
          createdAt: `${m.releasedOn ?? '2025-01-01'}T00:00:00Z`,
          updatedAt: `${m.releasedOn ?? '2025-01-01'}T00:00:00Z`,
          inferenceProfileArn: `arn:aws:bedrock:${region}:${account}:inference-profile/${p}.${m.bedrockId}`,
          models: [{ modelArn: `arn:aws:bedrock:${region}::foundation-model/${m.bedrockId}` }],
          inferenceProfileId: `${p}.${m.bedrockId}`,
          status: 'ACTIVE' as const,
          type: 'SYSTEM_DEFINED' as const,
        })),
    );
}
