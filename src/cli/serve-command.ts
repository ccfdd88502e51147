import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { CatalogOverrides } from '../catalog/catalog.js';
import type { Scope } from '../catalog/resolve-model.js';
import type { BedrockAuth } from '../aws/credentials.js';
import type { GatewayConfig } from '../server/config.js';
import { parsePort, parseScope } from './options.js';
import { nonEmpty, regionFromEnv } from '../aws/env-region.js';
import { regionProblem } from '../aws/known-regions.js';
import type { BedrockClaudeError } from '../errors.js';
import { maskKeyId } from './doctor-command.js';
import { redactUrl } from '../control/redact-url.js';
import { resolveDataDir } from './control-options.js';

/** Whether the store (PostgreSQL, or the data directory's) holds a key (a gateway on a public address needs one). */
async function storeHasKeys(dataDir: string | undefined, databaseUrl: string | undefined): Promise<boolean> {
  if (!dataDir && !databaseUrl) return false;
  try {
    const store = databaseUrl
      ? await (await import('../control/postgres-store.js')).openPostgresControlStore(databaseUrl)
      : (await import('../control/sqlite-store.js')).openSqliteControlStore(dataDir!);
    try {
      return (await store.listKeys()).some((k) => k.revoked === undefined);
    } finally {
      await store.close();
    }
  } catch {
    return false;
  }
}

interface ServeFlags {
  host?: string;
  port?: number;
  region?: string;
  scope?: Scope;
  config?: string;
  bedrockEndpoint?: string;
  emulator?: boolean;
  insecureNoAuth?: boolean;
  dataDir?: string;
  store?: boolean;
  databaseUrl?: string;
  redisUrl?: string;
  failMode?: 'failClosed' | 'failOpen';
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the Anthropic-compatible gateway in front of Bedrock (or the built-in emulator when no AWS credentials ' +
        'are configured).',
    )
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--port <port>', 'port, 0 picks a free one (default 4000)', parsePort)
    .option('--region <region>', 'AWS region (default: config, AWS_REGION, AWS_DEFAULT_REGION, then us-west-2)')
    .option('--scope <scope>', 'global | geo | in-region (default global)', parseScope)
    .option('--config <file>', 'YAML config (keys, routes, policies, limits); ${ENV} is interpolated')
    .option('--bedrock-endpoint <url>', 'upstream base URL (VPC endpoint, FIPS, an emulator)')
    .option('--emulator', 'run on the built-in emulator even if AWS credentials exist')
    .option('--no-emulator', 'always use Bedrock (e.g. with only an instance role, which is not probed at start-up)')
    .option('--insecure-no-auth', 'allow a non-loopback address without gateway keys')
    .option(
      '--data-dir <dir>',
      "the control plane's data directory: keys, teams, the ledger (default BEDROCK_CLAUDE_DATA_DIR, then " +
        '~/.bedrock-claude)',
    )
    .option('--no-store', 'run without the control plane: keys from the config alone, no limits, budgets or ledger')
    .option(
      '--database-url <url>',
      'PostgreSQL for keys, teams and the ledger, shared by several replicas (default: `store` in the config, then ' +
        'BEDROCK_CLAUDE_DATABASE_URL)',
    )
    .option(
      '--redis-url <url>',
      'Redis for rate limits, concurrency and budget reservations (default: `counters` in the config, then ' +
        'BEDROCK_CLAUDE_REDIS_URL)',
    )
    .addOption(
      new Option(
        '--fail-mode <mode>',
        'when Redis cannot be reached: refuse model calls (failClosed, 529) or count on this replica alone ' +
          '(failOpen, the default)',
      ).choices(['failClosed', 'failOpen']),
    )
    .addHelpText(
      'after',
      `
Examples:
  bedrock-claude serve                        # Bedrock with your AWS credentials, or the emulator if none
  bedrock-claude serve --region eu-west-1 --scope geo
  bedrock-claude serve --config gateway.yaml
  ANTHROPIC_BASE_URL=http://127.0.0.1:4000 claude -p "hello"`,
    )
    .action(runServe);
}

/** Where and how to serve, from the flags, the config and the environment, checked. */
interface ServeSettings {
  config: GatewayConfig;
  host: string;
  port: number;
  region: string;
  dataDir: string | undefined;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  counters: Exclude<GatewayConfig['counters'], string>;
  failMode: 'failClosed' | 'failOpen';
  adminKey: string | undefined;
}

/** The upstream the gateway calls: Bedrock with the found credentials, or the built-in emulator. */
interface Upstream {
  auth: BedrockAuth;
  endpoint: string | undefined;
  backendLabel: 'bedrock' | 'emulator';
  closeEmulator: (() => Promise<void>) | undefined;
}

async function runServe(flags: ServeFlags): Promise<void> {
  // Loaded here, not at start-up: the other commands do not pay for the gateway, and the
  // gateway does not carry the emulator or the config parser when it does not use them.
  const { startGateway } = await import('../server/gateway.js');
  const settings = await serveSettings(flags);
  await refuseOpenWithoutKeys(settings, flags);
  const upstream = await chooseUpstream(flags, settings);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(gatewayOptions(flags, settings, upstream));
  } catch (err) {
    // A gateway that cannot start leaves nothing running behind it (the emulator included).
    await upstream.closeEmulator?.();
    throw startFailure(err, settings);
  }
  console.error(`bedrock-claude gateway: ${flags.store === false ? '--no-store: ' : ''}${gateway.control}`);
  console.error(`bedrock-claude gateway: ${gateway.responses}`);
  console.error(
    (settings.adminKey || settings.config.adminKeys?.length) && (settings.dataDir || settings.databaseUrl)
      ? `bedrock-claude gateway: admin API at ${gateway.url}/admin/ (bedrock-claude keys list --gateway ` +
          `${gateway.url}); dashboard at ${gateway.url}/ui (sign in with the admin key` +
          `${settings.config.identity ? ' or through the identity provider' : ''})`
      : 'bedrock-claude gateway: no admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY): the admin API and the ' +
          'dashboard (/ui) are off',
  );
  console.log(`listening on ${gateway.url}${upstream.backendLabel === 'emulator' ? ' (EMULATOR MODE)' : ''}`);
  if (upstream.backendLabel !== 'emulator' && upstream.auth.kind === 'sigv4') loadInBackground(upstream.auth);
  const stop = () => {
    console.error('bedrock-claude gateway: shutting down, letting open requests finish');
    void gateway
      .close()
      .then(() => upstream.closeEmulator?.())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function serveSettings(flags: ServeFlags): Promise<ServeSettings> {
  const config: GatewayConfig = flags.config
    ? (await import('../server/config.js')).parseGatewayConfig(readFileSync(flags.config, 'utf8'))
    : {};
  const region = nonEmpty(flags.region) ?? nonEmpty(config.region) ?? regionFromEnv() ?? 'us-west-2';
  // Caught here, not as a 400 on every request once the gateway is up.
  const problem = regionProblem(region);
  if (problem)
    throw new Error(
      `${problem}: pass one such as us-west-2 (--region, \`region\` in the config, AWS_REGION or ` +
        `AWS_DEFAULT_REGION).`,
    );
  const stored = flags.store !== false;
  const counters = typeof config.counters === 'string' ? { url: config.counters } : config.counters;
  const { databaseUrl, redisUrl } = stored ? storeUrls(flags, config, counters?.url) : {};
  return {
    config,
    host: flags.host ?? config.host ?? '127.0.0.1',
    port: flags.port ?? config.port ?? 4000,
    region,
    dataDir: stored ? resolveDataDir(flags.dataDir, config.dataDir) : undefined,
    databaseUrl,
    redisUrl,
    counters,
    failMode: flags.failMode ?? counters?.failMode ?? 'failOpen',
    adminKey: nonEmpty(config.adminKey) ?? nonEmpty(process.env['BEDROCK_CLAUDE_ADMIN_KEY']),
  };
}

/** The PostgreSQL and Redis URLs: flag, config, then environment; each checked for its scheme. */
function storeUrls(flags: ServeFlags, config: GatewayConfig, countersUrl: string | undefined) {
  const databaseUrl =
    nonEmpty(flags.databaseUrl) ?? nonEmpty(config.store) ?? nonEmpty(process.env['BEDROCK_CLAUDE_DATABASE_URL']);
  const redisUrl =
    nonEmpty(flags.redisUrl) ?? nonEmpty(countersUrl) ?? nonEmpty(process.env['BEDROCK_CLAUDE_REDIS_URL']);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new Error(
      `the database URL must be a PostgreSQL URL (postgres://user@host:5432/db), not ` + `"${redactUrl(databaseUrl)}"`,
    );
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    throw new Error('the Redis URL must start with redis:// or rediss://');
  return { databaseUrl, redisUrl };
}

async function refuseOpenWithoutKeys(settings: ServeSettings, flags: ServeFlags): Promise<void> {
  const { host, config, dataDir, databaseUrl } = settings;
  if (LOOPBACK.test(host) || config.keys?.length || (flags.insecureNoAuth ?? config.insecureNoAuth)) return;
  if (await storeHasKeys(dataDir, databaseUrl)) return;
  throw new Error(
    `refusing to listen on ${host} without gateway keys: anyone who can reach it would spend your AWS account. ` +
      `Add keys (bedrock-claude keys create NAME) or pass --insecure-no-auth.`,
  );
}

async function chooseUpstream(flags: ServeFlags, { config, region }: ServeSettings): Promise<Upstream> {
  const [{ createCredentialCache, resolveBedrockAuth }, { detectCredentialSource }] = await Promise.all([
    import('../aws/credentials.js'),
    import('../aws/detect-credentials.js'),
  ]);
  const endpoint = flags.bedrockEndpoint ?? config.bedrockEndpoint;
  const explicitAws = config.aws && (config.aws.accessKeyId || config.aws.profile || config.aws.apiKey);
  const source = explicitAws ? 'gateway config' : detectCredentialSource();
  if (!(flags.emulator ?? config.emulator ?? (!endpoint && !source))) {
    console.error(
      `bedrock-claude gateway: region ${region}, credentials from ` +
        `${source ?? 'the default chain'}${endpoint ? `, upstream ${redactUrl(endpoint)}` : ''}`,
    );
    return { auth: resolveBedrockAuth({ ...config.aws }), endpoint, backendLabel: 'bedrock', closeEmulator: undefined };
  }
  const { EMULATOR_CREDENTIALS, startEmulator } = await import('../emulator/emulator.js');
  // The config's models are the emulator's too: a model added there is served, not refused as unknown.
  const models = config.models as CatalogOverrides | undefined;
  const emulator = await startEmulator(Object.assign({ port: 0, region }, models ? { models } : {}));
  const why = flags.emulator
    ? 'because --emulator was given'
    : config.emulator
      ? 'because the config says emulator: true'
      : 'because no AWS credentials were found (env, AWS_PROFILE, ~/.aws, web identity, container)';
  console.error(
    `\n  *** EMULATOR MODE: answers come from the built-in Bedrock emulator (${emulator.url}), ` +
      `${why}. ***\n  *** Replies echo your prompt. Configure AWS credentials to reach Amazon Bedrock (on an ` +
      `instance role alone, pass --no-emulator). ***\n`,
  );
  const credentials = createCredentialCache({
    accessKeyId: EMULATOR_CREDENTIALS.accessKeyId,
    secretAccessKey: EMULATOR_CREDENTIALS.secretAccessKey,
  });
  return {
    auth: { kind: 'sigv4', credentials },
    endpoint: emulator.url,
    backendLabel: 'emulator',
    closeEmulator: emulator.close,
  };
}

function gatewayOptions(flags: ServeFlags, settings: ServeSettings, upstream: Upstream) {
  const { config, counters, redisUrl } = settings;
  return {
    host: settings.host,
    port: settings.port,
    keylessHosts: keylessHosts(flags, config),
    publicUrl: config.publicUrl,
    identity: config.identity,
    region: settings.region,
    scope: flags.scope ?? config.scope ?? 'global',
    auth: upstream.auth,
    endpoint: upstream.endpoint,
    backendLabel: upstream.backendLabel,
    keys: config.keys ?? [],
    dataDir: settings.dataDir,
    databaseUrl: settings.databaseUrl,
    ...(redisUrl
      ? {
          counters: {
            url: redisUrl,
            failMode: settings.failMode === 'failClosed' ? ('closed' as const) : ('open' as const),
            prefix: counters?.prefix,
          },
        }
      : {}),
    ...(config.timeZone ? { timeZone: config.timeZone } : {}),
    ...(config.ledger ? { ledger: config.ledger } : {}),
    responses: config.responses,
    alerts: config.alerts,
    adminKey: settings.adminKey,
    ...(config.adminKeys ? { adminKeys: config.adminKeys } : {}),
    ...(config.routes ? { routes: config.routes } : {}),
    ...(config.fallbackRegions ? { fallbackRegions: config.fallbackRegions } : {}),
    ...(config.applicationProfiles ? { applicationProfiles: config.applicationProfiles } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.retry ? { retry: config.retry } : {}),
    ...(config.openai?.fetchImages ? { fetchImages: { maxBytes: config.openai.imageMaxBytes ?? 3_750_000 } } : {}),
    ...(config.models ? { models: config.models as CatalogOverrides } : {}),
  };
}

/** A start-up failure with its fix, where there is one (a port taken, an address not on this machine). */
function startFailure(err: unknown, { host, port }: ServeSettings): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const fix =
    code === 'EADDRINUSE'
      ? `Another process listens on ${host}:${port}: stop it, or pick another port (--port, \`port\` in the ` +
        'config; 0 picks a free one).'
      : code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this machine: bind 127.0.0.1, 0.0.0.0 or one of its own addresses (--host).`
        : code === 'EACCES'
          ? `Port ${port} needs privileges: use a port above 1023 (--port).`
          : undefined;
  return fix ? Object.assign(err as Error, { fix }) : err;
}

/** Host names served without keys besides loopback ones: any with --insecure-no-auth, else the public URL's. */
function keylessHosts(flags: ServeFlags, config: GatewayConfig): string[] {
  if (flags.insecureNoAuth ?? config.insecureNoAuth) return ['*'];
  return config.publicUrl ? [new URL(config.publicUrl).hostname] : [];
}

/**
 * Loads the credentials once now, in the background: a setup that cannot sign is said at start-up,
 * not only as a 500 on the first request (and the first request does not wait for them).
 */
function loadInBackground(auth: Extract<BedrockAuth, { kind: 'sigv4' }>): void {
  void auth.credentials.get().then(
    (c) => console.error(`bedrock-claude gateway: AWS credentials loaded (access key ${maskKeyId(c.accessKeyId)})`),
    (err: unknown) =>
      console.error(
        `\n  *** WARNING: ${(err as BedrockClaudeError).fullMessage ?? String(err)} ***\n  *** Every request ` +
          `to Bedrock fails with this until it is fixed. ***\n`,
      ),
  );
}
