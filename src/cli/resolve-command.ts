import type { Command } from 'commander';
import { resolveModel, type Scope } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';
import { parseScope } from './options.js';
import { needRegion, regionNote } from './region.js';

export function registerResolveCommand(program: Command): void {
  program
    .command('resolve')
    .description('Show the Bedrock model ID to call for a model name, and why.')
    .argument('<model>', 'an Anthropic name (claude-sonnet-4-6, opus-4.6), a Bedrock ID, a profile ID or an ARN')
    .option('--region <region>', "AWS region (default AWS_REGION, AWS_DEFAULT_REGION, then the AWS profile's)")
    .option('--scope <scope>', 'global | geo | in-region', parseScope, 'global' as Scope)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  bedrock-claude resolve opus-4.6 --region us-west-2\n  bedrock-claude resolve claude-haiku-4-5 ' +
        '--region ap-northeast-1 --scope geo',
    )
    .action(async (model: string, opts: { region?: string; scope: Scope; json?: boolean }) => {
      try {
        const region = await needRegion(opts.region);
        const r = resolveModel(model, { region: region.region, scope: opts.scope });
        if (opts.json)
          console.log(
            JSON.stringify(
              {
                modelId: r.modelId,
                region: r.region,
                regionFrom: region.from,
                scope: r.scope,
                prefix: r.prefix ?? null,
                model: r.model?.name ?? null,
                regionalPremium: r.regionalPremium,
                explanation: r.explanation,
                notes: r.notes,
              },
              null,
              2,
            ),
          );
        else {
          console.log(r.modelId);
          const note = regionNote(region);
          if (note) console.error(note);
          console.error(r.explanation);
          for (const n of r.notes) console.error(`note: ${n}`);
        }
      } catch (err) {
        if (!(err instanceof BedrockClaudeError)) throw err;
        if (opts.json)
          console.log(
            JSON.stringify({ error: { type: err.type, message: err.message, fix: err.fix ?? null } }, null, 2),
          );
        else console.error(`error: ${err.message}${err.fix ? `\nfix: ${err.fix}` : ''}`);
        process.exitCode = 1;
      }
    });
}
