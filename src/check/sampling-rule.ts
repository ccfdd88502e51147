import type { SamplingRule } from '../catalog/catalog.js';
import type { Diagnostic } from './diagnostic.js';
import { validation, type Rule } from './rule.js';

/** What a body's sampling breaks of a model's rule, one sentence each. */
function broken(body: Record<string, unknown>, rule: SamplingRule): Array<{ location: string; detail: string }> {
  const out: Array<{ location: string; detail: string }> = [];
  const t = body['temperature'];
  if (t !== undefined && rule.temperature && !rule.temperature.includes(t as number))
    out.push({ location: 'body.temperature', detail: `temperature must be ${rule.temperature.join(' or ')} or unset` });
  const p = body['top_p'];
  if (p !== undefined && rule.topPMin !== undefined && !(typeof p === 'number' && p >= rule.topPMin))
    out.push({ location: 'body.top_p', detail: `top_p must be at least ${rule.topPMin} or unset` });
  if (body['top_k'] !== undefined && rule.topK === false)
    out.push({ location: 'body.top_k', detail: 'top_k is not supported' });
  return out;
}

/**
 * The sampling a model takes (Fable: temperature 1 or unset, top_p at least 0.99, no top_k). An error
 * when a primary source says so (the rule's mark is C), else a warning: the catalog does not refuse on a
 * secondary source or an assumption.
 */
export const sampling: Rule = {
  code: 'sampling-not-taken',
  description: 'Sampling parameters a model does not take (temperature, top_p, top_k on Fable).',
  run(ctx) {
    const rule = ctx.model?.sampling;
    if (!ctx.body || !ctx.model || !rule) return [];
    const confirmed = ctx.model.marks?.rules === 'C';
    return broken(ctx.body, rule).map(({ location, detail }): Diagnostic => {
      const message = `${detail} for ${ctx.model!.displayName}.`;
      return Object.assign(
        {
          code: 'sampling-not-taken' as const,
          severity: confirmed ? ('error' as const) : ('warning' as const),
          location,
          message: confirmed ? message : `${message} (from a source not confirmed: sent as asked)`,
          fix: 'Leave the sampling parameters out: the model samples as it was tuned to.',
        },
        confirmed ? { bedrock: validation(message) } : {},
      );
    });
  },
};
