import type { Backend, Catalog, EndpointInfo, ModelEntry, ProfilePrefix } from './catalog.js';

/** The endpoints that serve a model, in the gateway's order (an older models file's single `backend` wins). */
export function backendsOf(model: ModelEntry | undefined): readonly Backend[] {
  if (!model) return ['mantle'];
  if (model.backend) return [model.backend];
  return model.backends?.length ? model.backends : ['invoke'];
}

/** A model of the legacy integration (Opus 4.6 and earlier, Haiku 4.5): not on bedrock-runtime's Messages API. */
export function isLegacyModel(model: ModelEntry): boolean {
  return !backendsOf(model).includes('messages');
}

/**
 * The endpoint a resolved ID goes to: the model's first backend that takes its form. A profile ID goes to `messages`
 * or `invoke`; a bare ID in-region to `invoke` when the model is offered on demand there, else `mantle`; an ARN to
 * `invoke` (application profiles on the Messages-API endpoints are unconfirmed).
 */
export function backendFor(
  model: ModelEntry | undefined,
  form: { kind: 'profile'; prefix: ProfilePrefix } | { kind: 'bare'; onDemand: boolean } | { kind: 'arn' },
): Backend {
  const order = backendsOf(model);
  if (form.kind === 'arn') return 'invoke';
  const fits = (b: Backend): boolean =>
    form.kind === 'profile' ? b === 'messages' || b === 'invoke' : b === 'mantle' || (b === 'invoke' && form.onDemand);
  return order.find(fits) ?? (form.kind === 'profile' ? 'invoke' : order.includes('mantle') ? 'mantle' : 'invoke');
}

/** The ID a backend takes for a model: bare on mantle, the Anthropic name on Claude Platform, else the given one. */
export function idFor(backend: Backend, model: ModelEntry | undefined, given: string): string {
  if (!model) return given;
  if (backend === 'mantle') return model.mantleId ?? model.bedrockId;
  if (backend === 'platform') return model.name;
  return given;
}

/** The endpoint's description from the catalog. */
export function endpointInfo(backend: Backend, catalog: Catalog): EndpointInfo {
  return catalog.data.endpoints[backend];
}

/** The base URL of an endpoint in a region (`https://bedrock-mantle.us-east-1.api.aws`). */
export function endpointUrl(info: EndpointInfo, region: string): string {
  return info.url.replace('{region}', region);
}

/**
 * The Anthropic API version to send to an endpoint: the client's when the endpoint takes it, else the endpoint's
 * first. `adapted` says the client asked for one the endpoint does not take (the gateway then applies its rules).
 */
export function versionFor(info: EndpointInfo, asked: string | undefined): { version: string; adapted: boolean } {
  if (asked && info.versions.includes(asked)) return { version: asked, adapted: false };
  return { version: info.versions[0]!, adapted: asked !== undefined && asked !== info.versions[0] };
}

/** Served only where bare IDs are taken (bedrock-mantle): profiles do not apply. */
export function bareOnly(model: ModelEntry): boolean {
  return !backendsOf(model).some((b) => b === 'invoke' || b === 'messages');
}
