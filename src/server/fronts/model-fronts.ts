import type { Catalog } from '../../catalog/catalog.js';
import type { ImageFetchOptions } from '../fetch-images.js';
import type { Front } from './front.js';
import type { Router } from '../targets.js';
import { createAnthropicFront } from './anthropic.js';
import { createBedrockFront } from './bedrock.js';
import { createConverseFront } from './converse.js';
import { createMantleFront } from './mantle.js';
import { createOpenAIFront } from './openai.js';
import { createResponsesFront } from './responses.js';
import { keepNothing, type ResponseKeeper } from '../responses-keeper.js';

/**
 * The dialects the gateway speaks, in the order their routes are tried: the Anthropic Messages API
 * first (it also answers what no route serves, in its shape), then OpenAI chat completions,
 * Bedrock's native Messages path, Converse and InvokeModel. A new front is a file and a line here.
 */
export function createModelFronts(deps: {
  catalog: Catalog;
  router: Router;
  region: string;
  fetchImages?: ImageFetchOptions | undefined;
  now?: () => number;
  pingMs?: number | undefined;
  /** Where `store: true` keeps Responses API responses (default: nowhere, and said so). */
  keeper?: ResponseKeeper | undefined;
}): [Front, ...Front[]] {
  const { catalog, region, pingMs } = deps;
  return [
    createAnthropicFront({ catalog, router: deps.router, region, pingMs }),
    createOpenAIFront({ catalog, images: deps.fetchImages }),
    createResponsesFront({
      catalog,
      images: deps.fetchImages,
      keeper: deps.keeper ?? keepNothing('this gateway was built without a store for them'),
    }),
    createMantleFront({ anthropicVersion: catalog.data.anthropicVersion, pingMs }),
    createConverseFront(deps.now ? { catalog, now: deps.now } : { catalog }),
    createBedrockFront({ catalog, region }),
  ];
}
