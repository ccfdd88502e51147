import type { Catalog } from '../catalog/catalog.js';
import { offerFor, PRICE_LIST_SERVICE } from '../catalog/price-list.js';
import { isRegionName } from '../catalog/regions.js';
import { invalidRequest } from '../errors.js';
import { bedrockError } from '../server/fronts/bedrock.js';
import type { RouteGroup } from '../server/fronts/front.js';
import { jsonReply } from '../server/fronts/replies.js';

/**
 * `GET /healthz` of the emulator itself. (Its Converse and native-Messages fronts are the gateway's, in `asBedrock`
 * mode.)
 */
export function createEmulatorOpsGroup(catalog: Catalog): RouteGroup {
  return {
    name: 'ops',
    metered: false,
    routes: [
      {
        method: 'GET',
        path: '/healthz',
        public: true,
        serve: () => jsonReply(200, { status: 'ok', service: 'bedrock-claude emulator' }, {}),
      },
      {
        // The AWS Price List's bulk offer for a region (public, as AWS serves it), written from the catalog.
        method: 'GET',
        path: `/offers/v1.0/aws/${PRICE_LIST_SERVICE}/current/{region}/index.json`,
        public: true,
        serve: (ctx) => {
          const region = decodeURIComponent(ctx.params[0] ?? '');
          if (!isRegionName(region)) throw invalidRequest(`Unknown region ${region.slice(0, 64)}.`, undefined, 404);
          return jsonReply(200, offerFor(catalog, region), {});
        },
      },
    ],
    encodeError: (ctx, err) => bedrockError(ctx, err, true),
  };
}
