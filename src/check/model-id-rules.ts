import { isRegionName } from '../catalog/regions.js';
import { onDemandMessage, parseModelInput, resolveModel, suggestModels } from '../catalog/resolve-model.js';
import { validation, type Rule, type RuleContext } from './rule.js';

// The rules about the model and the region: a region to call, an ID Bedrock knows in the form it
// takes, on-demand throughput where the model has it, the model offered in that region.

export const missingRegion: Rule = {
  code: 'missing-region',
  description: 'Forgetting the region: the default region may not have the model.',
  run(ctx) {
    if (ctx.input.region) {
      if (isRegionName(ctx.input.region)) return [];
      return [
        {
          code: 'invalid-region',
          severity: 'error',
          location: 'region',
          message: `"${ctx.input.region}" is not an AWS region name.`,
          fix: 'Use a region such as us-west-2, us-east-1, eu-west-1 or ap-northeast-1.',
        },
      ];
    }
    return [
      {
        code: 'missing-region',
        severity: 'error',
        location: 'region',
        message: 'No region given: Bedrock is regional and the default region may not have the model.',
        fix: 'Always pass the region explicitly: --region us-west-2 (or AWS_REGION).',
      },
    ];
  },
};

export const modelIdFormat: Rule = {
  code: 'model-id-format',
  description: 'Wrong model ID format (ValidationException: The provided model identifier is invalid).',
  run(ctx) {
    const id = ctx.modelInput;
    if (id === undefined || id === '') {
      return [
        {
          code: 'missing-model',
          severity: 'error',
          location: 'model',
          message: 'No model given.',
          fix:
            ctx.input.format === 'bedrock'
              ? 'Put the model ID in the path: /model/global.anthropic.claude-opus-4-6-v1/invoke (--model-id).'
              : 'Set "model", e.g. "claude-sonnet-4-5".',
        },
      ];
    }
    const parsed = parseModelInput(id);
    if (ctx.input.format === 'bedrock' && parsed.kind === 'name') {
      const fix = ctx.resolved
        ? `Use the Bedrock ID "${ctx.resolved.modelId}" (${ctx.resolved.explanation})`
        : `Use a full Bedrock ID such as "global.anthropic.claude-opus-4-6-v1"${suggest(id, ctx)}.`;
      return [
        {
          code: 'model-id-format',
          severity: 'error',
          location: 'model',
          message:
            `The provided model identifier is invalid: "${id}" is an Anthropic API name, ` + `not a Bedrock model ID.`,
          fix,
          bedrock: validation('The provided model identifier is invalid.'),
        },
      ];
    }
    if (ctx.resolveError?.status === 404) {
      return [
        {
          code: 'model-id-format',
          severity: 'error',
          location: 'model',
          message: ctx.resolveError.message,
          fix: ctx.resolveError.fix ?? '',
          bedrock: validation('The provided model identifier is invalid.'),
        },
      ];
    }
    return [];
  },
};

function suggest(id: string, ctx: RuleContext): string {
  const s = suggestModels(id, ctx.catalog);
  return s.length ? `; did you mean ${s.join(', ')}?` : '';
}

export const onDemand: Rule = {
  code: 'on-demand-not-supported',
  description: 'Bare model ID of a model that is only callable through an inference profile.',
  run(ctx) {
    if (ctx.input.format !== 'bedrock' || !ctx.modelInput || !ctx.model) return [];
    const parsed = parseModelInput(ctx.modelInput);
    const isBare =
      parsed.kind === 'base-id' || (parsed.kind === 'arn' && parsed.arn?.resourceType === 'foundation-model');
    if (!isBare || ctx.model.onDemandInRegion) return [];
    let fix =
      'Use an inference profile ID: global. (any commercial region, no premium) or us./eu./jp./apac./au. (data stays ' +
      'in the geography, ~10% premium).';
    if (ctx.input.region) {
      try {
        const r = resolveModel(ctx.model.name, {
          region: ctx.input.region,
          scope: ctx.input.scope ?? 'global',
          catalog: ctx.catalog,
        });
        fix = `Use "${r.modelId}" (${r.explanation})`;
      } catch {
        // keep the generic fix
      }
    }
    return [
      {
        code: 'on-demand-not-supported',
        severity: 'error',
        location: 'model',
        message: onDemandMessage(ctx.modelInput),
        fix,
        bedrock: validation(onDemandMessage(ctx.modelInput)),
      },
    ];
  },
};

export const notInRegion: Rule = {
  code: 'model-not-in-region',
  description:
    'Model not available in the chosen region or geography (Sonnet 4.5 not in APAC, Haiku 4.5 not in JP or APAC).',
  run(ctx) {
    const err = ctx.resolveError;
    if (!err || err.status === 404 || /on-demand|region given|not an AWS region/.test(err.message)) return [];
    return [
      {
        code: 'model-not-in-region',
        severity: 'error',
        location: 'model',
        message: err.message,
        fix: err.fix ?? '',
        bedrock: validation('The provided model identifier is invalid.'),
      },
    ];
  },
};
