import { partition } from '@aws-sdk/core/client';
import { isRegionName } from '../catalog/regions.js';

/**
 * Why a region name is not one to use, or undefined: not a region's form, or a form no AWS partition lists (the
 * AWS SDK's own partition data: `us-west-99` has the form, and no region). A region AWS opens later is known to the
 * SDK release that follows it.
 */
export function regionProblem(region: string): string | undefined {
  if (!isRegionName(region)) return `"${region.slice(0, 64)}" is not an AWS region name`;
  const known = (partition(region) as { description?: string }).description;
  return known === undefined ? `"${region}" is not a region AWS lists` : undefined;
}
