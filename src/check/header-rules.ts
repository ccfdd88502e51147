import { headerOf } from '../headers.js';
import { judgeBeta } from '../translate/sanitize.js';
import type { Diagnostic } from './diagnostic.js';
import { validation, type Rule } from './rule.js';

// The rules about headers and betas: betas in the header where Bedrock reads only the body, an
// Anthropic API key sent to Bedrock, and each beta judged against the model.

export const betaHeader: Rule = {
  code: 'beta-in-header',
  description: 'Betas in the anthropic-beta HTTP header where Bedrock needs the anthropic_beta body field.',
  run(ctx) {
    if (ctx.input.format !== 'bedrock' || !ctx.headerBetas.length) return [];
    const missing = ctx.headerBetas.filter((b) => !ctx.bodyBetas.includes(b));
    if (!missing.length) return [];
    return [
      {
        code: 'beta-in-header',
        severity: 'error',
        location: 'headers.anthropic-beta',
        message: `Beta features not enabled: Bedrock ignores the anthropic-beta header (${missing.join(', ')}).`,
        fix: `Put them in the body: "anthropic_beta": ${JSON.stringify([...ctx.bodyBetas, ...missing])}.`,
      },
    ];
  },
};

export const apiKeyHeader: Rule = {
  code: 'anthropic-api-key',
  description: 'An Anthropic API key (x-api-key) sent to Bedrock.',
  run(ctx) {
    if (ctx.input.format !== 'bedrock' || headerOf(ctx.input.headers, 'x-api-key') === undefined) return [];
    return [
      {
        code: 'anthropic-api-key',
        severity: 'error',
        location: 'headers.x-api-key',
        message:
          'Bedrock does not accept Anthropic API keys (x-api-key): it authenticates with AWS IAM credentials (SigV4) ' +
          'or a Bedrock API key.',
        fix:
          'Remove x-api-key; sign with AWS credentials (default credential chain, AWS_PROFILE) or send a Bedrock ' +
          'API key as Authorization: Bearer (AWS_BEARER_TOKEN_BEDROCK).',
        bedrock: {
          status: 403,
          exception: 'AccessDeniedException',
          message: 'Bedrock uses AWS IAM credentials (SigV4) or a Bedrock API key, not an Anthropic x-api-key.',
        },
      },
    ];
  },
};

export const betas: Rule = {
  code: 'invalid-beta',
  description: 'Betas Bedrock rejects (invalid beta flag), and the 1M-context beta on a model without it.',
  run(ctx) {
    const all = ctx.input.format === 'bedrock' ? ctx.bodyBetas : [...new Set([...ctx.bodyBetas, ...ctx.headerBetas])];
    const out: Diagnostic[] = [];
    all.forEach((beta, i) => {
      const verdict = judgeBeta(beta, ctx.model, ctx.catalog.data);
      if (verdict.ok) {
        if (verdict.renamedFrom && ctx.input.format === 'bedrock') {
          out.push({
            code: 'invalid-beta',
            severity: 'error',
            location: `body.anthropic_beta[${i}]`,
            message: `invalid beta flag: "${beta}" is called "${verdict.beta}" on Bedrock.`,
            fix: `Use "${verdict.beta}".`,
            bedrock: validation('invalid beta flag'),
          });
        }
        return;
      }
      const is1m = beta === ctx.catalog.data.betas.context1m;
      out.push({
        code: is1m ? 'context-1m-unsupported' : 'invalid-beta',
        // Sources that disagree refuse nothing (the emulator takes it; the gateway still drops it).
        severity: ctx.input.format === 'bedrock' && !verdict.conflicting ? 'error' : 'warning',
        location: ctx.input.format === 'bedrock' ? `body.anthropic_beta[${i}]` : 'anthropic-beta',
        message: `invalid beta flag: ${verdict.reason}.`,
        fix: is1m
          ? `Drop the beta, or use a model with 1M context (${ctx.catalog.models
              .filter((m) => m.context1m && !m.unconfirmed)
              .map((m) => m.name)
              .join(', ')}).`
          : `Remove "${beta}" from anthropic_beta` +
            `${ctx.input.format === 'anthropic' ? ' (a gateway with policy "drop" removes it for you)' : ''}.`,
        bedrock: validation('invalid beta flag'),
      });
    });
    return out;
  },
};

/** Bedrock's words for text it refuses; each comes with what to do about it. */
