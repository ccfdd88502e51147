import { InvalidArgumentError, type Command } from 'commander';
import { EMULATOR_CREDENTIALS } from '../emulator/default-credentials.js';
import type { CatalogOverrides } from '../catalog/catalog.js';
import { parseInteger, parsePort, readDataFile } from './options.js';

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'Run a local Bedrock Runtime (InvokeModel, streams, CountTokens, Converse, ListInferenceProfiles) for offline ' +
        'work and tests.',
    )
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', parsePort, 4010)
    .option('--region <region>', 'region assumed when the request does not name one', 'us-west-2')
    .option('--access-key-id <id>', 'AWS access key ID to accept', EMULATOR_CREDENTIALS.accessKeyId)
    .option('--secret-access-key <secret>', 'its secret', EMULATOR_CREDENTIALS.secretAccessKey)
    .option('--api-key <key...>', 'Bedrock API keys to accept as Authorization: Bearer')
    .option('--faults <spec>', 'fault injection, e.g. throttle=0.1,us-east-1:unavailable=1,ttfb=200ms')
    .option('--seed <n>', 'seed for fault draws', parseInteger, 1)
    .option('--script <file>', 'YAML/JSON rules for scripted replies')
    .option('--models <file>', 'YAML/JSON file adding or overriding catalog models')
    .option(
      '--delta-chars <n>',
      'stream text in deltas of at most N characters (long streams for benchmarks)',
      parseInteger,
    )
    .option(
      '--not-enabled <models>',
      'comma-separated models the account has no access to (AccessDeniedException; GetFoundationModelAvailability ' +
        'says NOT_AUTHORIZED)',
    )
    .option('--keep-received <n>', 'how many received requests to keep for inspection', parseInteger, 200)
    .option(
      '--messages-endpoint <which>',
      'what /anthropic/v1/messages is for a Bedrock API key that names no host: mantle (default) or runtime',
      parseMessagesEndpoint,
    )
    .option('--mantle-tpm <input,output>', "bedrock-mantle's input and output tokens-per-minute quotas", parseTpm)
    .addHelpText(
      'after',
      `
Default credentials: access key ${EMULATOR_CREDENTIALS.accessKeyId}, secret ${EMULATOR_CREDENTIALS.secretAccessKey}.

Examples:
  bedrock-claude emulator --port 0
  bedrock-claude emulator --faults "throttle=0.1,us-east-1:unavailable=1" --seed 7
  AWS_ACCESS_KEY_ID=${EMULATOR_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${EMULATOR_CREDENTIALS.secretAccessKey} \\
    aws bedrock-runtime invoke-model --endpoint-url http://127.0.0.1:4010 --region us-west-2 \\
    --model-id us.anthropic.claude-sonnet-4-6 \\
    --body '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
             "messages": [{"role": "user", "content": "Hello"}]}' \\
    --cli-binary-format raw-in-base64-out out.json`,
    )
    .action(runEmulator);
}

interface EmulatorFlags {
  host: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  apiKey?: string[];
  faults?: string;
  seed: number;
  script?: string;
  models?: string;
  deltaChars?: number;
  keepReceived: number;
  notEnabled?: string;
  messagesEndpoint?: 'runtime' | 'mantle';
  mantleTpm?: { inputTpm: number; outputTpm: number };
}

function parseMessagesEndpoint(value: string): 'runtime' | 'mantle' {
  if (value === 'runtime' || value === 'mantle') return value;
  throw new InvalidArgumentError('runtime or mantle');
}

function parseTpm(value: string): { inputTpm: number; outputTpm: number } {
  const [input, output] = value.split(',').map((v) => Number(v.trim()));
  if (!Number.isInteger(input) || !Number.isInteger(output) || input! <= 0 || output! <= 0)
    throw new InvalidArgumentError('two positive whole numbers, input,output (e.g. 2000000,400000)');
  return { inputTpm: input!, outputTpm: output! };
}

async function runEmulator(opts: EmulatorFlags): Promise<void> {
  const { startEmulator } = await import('../emulator/emulator.js');
  const notEnabled = opts.notEnabled
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const emulator = await startEmulator({
    host: opts.host,
    port: opts.port,
    region: opts.region,
    credentials: [{ accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }],
    apiKeys: opts.apiKey ?? [],
    ...(opts.faults ? { faults: opts.faults } : {}),
    seed: opts.seed,
    keepReceived: opts.keepReceived,
    ...(notEnabled ? { notEnabled } : {}),
    ...(opts.deltaChars ? { deltaChars: opts.deltaChars } : {}),
    ...(opts.messagesEndpoint ? { messagesEndpoint: opts.messagesEndpoint } : {}),
    ...(opts.mantleTpm ? { mantleQuotas: opts.mantleTpm } : {}),
    ...(opts.script ? { script: await readDataFile(opts.script) } : {}),
    ...(opts.models ? { models: (await readDataFile(opts.models)) as CatalogOverrides } : {}),
  });
  console.log(`listening on ${emulator.url}`);
  // How to reach it, on stderr (stdout keeps the one line tools wait for). A secret given on the
  // command line is not echoed; the default one is public.
  const secret =
    opts.secretAccessKey === EMULATOR_CREDENTIALS.secretAccessKey
      ? opts.secretAccessKey
      : '(the one given with --secret-access-key)';
  console.error(
    `bedrock-claude emulator: a local Bedrock Runtime, not AWS. Point an SDK or the AWS CLI at ${emulator.url} ` +
      `(--endpoint-url) with AWS_ACCESS_KEY_ID=${opts.accessKeyId} AWS_SECRET_ACCESS_KEY=${secret}.`,
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
