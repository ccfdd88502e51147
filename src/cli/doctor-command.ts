import type { Command } from 'commander';
import { resolveModel, type Scope } from '../catalog/resolve-model.js';
import { BedrockClaudeError } from '../errors.js';
import { EXIT, paint, spinner } from './output.js';
import { parseScope } from './options.js';
import { findRegion } from './region.js';
import { getDefaultCatalog, type ModelEntry } from '../catalog/catalog.js';
import { endpointInfo } from '../catalog/backends.js';
import { apiVersionFindings, type Finding } from './doctor-api-version.js';

interface DoctorFlags {
  region?: string;
  model: string[];
  endpoint?: string;
  scope: Scope;
  profile?: string;
  dryRun?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `AKIA…WXYZ`: enough to tell keys apart, never the secret. */
export function maskKeyId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : '…';
}

/** How the credential chain's error begins: said once by `doctor`, not twice. */
const CHAIN_PREFIX = /^Could not load AWS credentials from the default credential chain: /;

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check the setup: credential source (never printing secrets), region, endpoint reachability, then a one-token ' +
        'probe per model.',
    )
    .option('-r, --region <region>', 'AWS region (default AWS_REGION, then AWS_DEFAULT_REGION)')
    .option('-m, --model <model>', 'a model to probe (repeatable; default claude-sonnet-4-6)', collect, [] as string[])
    .option('--scope <scope>', 'global | geo | in-region', parseScope, 'global' as Scope)
    .option('--endpoint <url>', 'Bedrock endpoint override (the emulator, a VPC endpoint)')
    .option('--profile <name>', 'AWS profile')
    .option('--dry-run', 'resolve and check, but send no request to a model')
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 all good, 1 a setup problem, 3 Bedrock or the network failed.\n\nExamples:\n  bedrock-claude ' +
        'doctor --region us-west-2\n  bedrock-claude doctor --region eu-west-1 --scope geo --model opus-4.6 --model ' +
        'haiku-4.5 --dry-run',
    )
    .action(runDoctor);
}

async function runDoctor(flags: DoctorFlags): Promise<void> {
  const wait = spinner('checking');
  const findings: Finding[] = [await checkCredentials(flags)];
  const found = await findRegion(flags.region, flags.profile);
  const region = found?.region;
  findings.push(regionFinding(region, found?.from));
  const { bedrockEndpoint } = await import('../aws/signer.js');
  const endpoint = flags.endpoint ?? (region ? bedrockEndpoint(region) : undefined);
  let upstreamFailed = false;
  if (endpoint) {
    const reached = await checkEndpoint(endpoint);
    findings.push(reached);
    upstreamFailed = !reached.ok;
  }
  const probed = await probeModels(flags, region, findings[0]!.ok);
  findings.push(...probed.findings);
  findings.push(...apiVersionFindings(probed.models, getDefaultCatalog(), process.cwd()));
  upstreamFailed ||= probed.upstreamFailed;
  wait.stop();
  const ok = findings.every((f) => f.ok || f.warning);
  if (flags.json) console.log(JSON.stringify({ ok, findings }, null, 2));
  else printFindings(findings);
  process.exitCode = ok ? EXIT.ok : upstreamFailed ? EXIT.upstream : EXIT.refused;
}

function printFindings(findings: readonly Finding[]): void {
  for (const f of findings) {
    const mark = f.ok
      ? paint(process.stdout, 'green', '✓')
      : f.warning
        ? paint(process.stdout, 'yellow', '!')
        : paint(process.stdout, 'red', '✗');
    console.log(`${mark} ${f.check}: ${f.detail}`);
    if (f.fix) console.log(`    ${paint(process.stdout, 'yellow', 'fix:')} ${f.fix}`);
  }
}

/** Where credentials come from and whether they load (within 5 s), never the secret. */
async function checkCredentials(flags: DoctorFlags): Promise<Finding> {
  const [{ createCredentialCache, resolveBedrockAuth }, { detectCredentialSource }] = await Promise.all([
    import('../aws/credentials.js'),
    import('../aws/detect-credentials.js'),
  ]);
  const source = flags.profile ? `profile ${flags.profile} (--profile)` : detectCredentialSource();
  const auth = resolveBedrockAuth({ profile: flags.profile });
  if (auth.kind === 'bearer')
    return {
      check: 'credentials',
      ok: true,
      detail: `Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) …${auth.token.slice(-4)}`,
    };
  try {
    const creds = await Promise.race([
      (flags.profile ? createCredentialCache({ profile: flags.profile }) : auth.credentials).get(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out after 5 s')), 5000).unref()),
    ]);
    const extra = [
      creds.sessionToken ? 'temporary (session token)' : 'long-term',
      creds.expiration ? `expires ${creds.expiration.toISOString()}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return {
      check: 'credentials',
      ok: true,
      detail:
        `${source ?? 'default chain (SSO, process, container or instance role)'}: access key ` +
        `${maskKeyId(creds.accessKeyId)}, ${extra}`,
    };
  } catch (err) {
    return {
      check: 'credentials',
      ok: false,
      detail: `none found (${(err as BedrockClaudeError).message.replace(CHAIN_PREFIX, '')})`,
      fix:
        'Bedrock uses AWS IAM credentials, not an Anthropic API key: set AWS_PROFILE, run `aws sso login`, ' +
        'export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or set AWS_BEARER_TOKEN_BEDROCK.',
    };
  }
}

function regionFinding(region: string | undefined, source: string | undefined): Finding {
  if (region) return { check: 'region', ok: true, detail: `${region} (from ${source})` };
  return {
    check: 'region',
    ok: false,
    detail: 'no region set',
    fix:
      'Always specify the region: --region us-west-2, or export AWS_REGION. The default region may not have ' +
      'the model.',
  };
}

async function checkEndpoint(endpoint: string): Promise<Finding> {
  const { request } = await import('undici');
  try {
    const res = await request(endpoint, { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
    await res.body.text();
    // Any answer means the network path is there; what a bare GET gets (Bedrock: 404) says nothing else.
    return {
      check: 'endpoint',
      ok: true,
      detail: `${endpoint} is reachable (a bare GET was answered, HTTP ${res.statusCode}, as expected)`,
    };
  } catch (err) {
    return {
      check: 'endpoint',
      ok: false,
      detail: `${endpoint} unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`,
      fix: 'Check network access to Bedrock (proxy, VPC endpoint, security groups), or pass --endpoint.',
    };
  }
}

type DoctorClient = Awaited<ReturnType<typeof import('../client/create-client.js').createBedrockClaude>>;

/** Each model resolved, its access checked, then probed with one token (unless a dry run). */
async function probeModels(
  flags: DoctorFlags,
  region: string | undefined,
  credentialsOk: boolean,
): Promise<{ findings: Finding[]; upstreamFailed: boolean; models: ModelEntry[] }> {
  const { createBedrockClaude } = await import('../client/create-client.js');
  const models = flags.model.length ? flags.model : ['claude-sonnet-4-6'];
  const client = region
    ? createBedrockClaude({
        region,
        scope: flags.scope,
        endpoint: flags.endpoint,
        profile: flags.profile,
        retry: { max: 0 },
      })
    : undefined;
  const findings: Finding[] = [];
  const entries: ModelEntry[] = [];
  let upstreamFailed = false;
  for (const model of models) {
    const found = await checkModel(model, flags, region, client, credentialsOk);
    findings.push(found.finding);
    if (found.model) entries.push(found.model);
    upstreamFailed ||= found.upstreamFailed;
  }
  await client?.close();
  return { findings, upstreamFailed, models: entries };
}

async function checkModel(
  model: string,
  flags: DoctorFlags,
  region: string | undefined,
  client: DoctorClient | undefined,
  credentialsOk: boolean,
): Promise<{ finding: Finding; upstreamFailed: boolean; model?: ModelEntry | undefined }> {
  const check = `model ${model}`;
  let resolved: ReturnType<typeof resolveModel>;
  try {
    resolved = resolveModel(model, { region, scope: flags.scope });
  } catch (err) {
    const e = err as BedrockClaudeError;
    return {
      finding: { check, ok: false, detail: e.message, ...(e.fix ? { fix: e.fix } : {}) },
      upstreamFailed: false,
    };
  }
  const entry = resolved.model;
  // Which endpoint serves it, with the ID that endpoint takes.
  const modelId = `${resolved.modelId} on ${endpointInfo(resolved.backend, getDefaultCatalog()).label}`;
  const denied = !flags.dryRun && credentialsOk && region ? await noAccess(resolved.modelId, region, flags) : undefined;
  if (denied)
    return { finding: { check, ok: false, ...accessDenied(denied, region!) }, upstreamFailed: false, model: entry };
  if (flags.dryRun || !client || !credentialsOk) {
    const why = flags.dryRun ? '(dry run: not probed)' : '(not probed: no credentials)';
    return {
      finding: { check, ok: true, detail: `resolves to ${modelId} ${why}` },
      upstreamFailed: false,
      model: entry,
    };
  }
  const started = performance.now();
  try {
    await client.messages.create({ model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });
    const ms = Math.round(performance.now() - started);
    return {
      finding: { check, ok: true, detail: `${modelId} answered in ${ms} ms` },
      upstreamFailed: false,
      model: entry,
    };
  } catch (err) {
    const e =
      err instanceof BedrockClaudeError
        ? err
        : new BedrockClaudeError((err as Error).message, { status: 502, type: 'api_error' });
    const fix =
      e.fix ??
      (e.status === 403
        ? 'Check the IAM policy allows bedrock:InvokeModel on the profile and the model, that model access is ' +
          'enabled in the Bedrock console, and that the credentials are right.'
        : undefined);
    return {
      finding: { check, ok: false, detail: `${modelId}: ${e.message}`, ...(fix ? { fix } : {}) },
      upstreamFailed: e.status >= 500 || e.type === 'rate_limit_error',
      model: entry,
    };
  }
}

function accessDenied(base: string, region: string): { detail: string; fix: string } {
  return {
    detail:
      `you have no access to ${base} in ${region} (GetFoundationModelAvailability: NOT_AUTHORIZED); ` +
      `a call would get AccessDeniedException: "You don't have access to the model with the specified ` +
      `model ID."`,
    fix:
      `In the Bedrock console for ${region}: Model access → Modify model access → select ${base} → Next ` +
      `→ Submit (Anthropic models ask for the use-case form once per account). Then run doctor again.`,
  };
}

/**
 * The model's base ID when the account's control plane says it has no access to it in the region
 * (GetFoundationModelAvailability), before a probe fails; undefined when it has, or when the
 * question cannot be asked (no permission for it, a gateway as the endpoint).
 */
async function noAccess(
  modelId: string,
  region: string,
  flags: { endpoint?: string | undefined; profile?: string | undefined },
): Promise<string | undefined> {
  const base = modelId.replace(/^(?:global|us|eu|jp|apac|au)\.(?=anthropic\.)/, '');
  if (!base.startsWith('anthropic.')) return undefined;
  try {
    const { controlPlaneGet } = await import('../aws/control-plane.js');
    const { resolveBedrockAuth } = await import('../aws/credentials.js');
    const answer = await controlPlaneGet(
      region,
      resolveBedrockAuth(flags.profile ? { profile: flags.profile } : {}),
      `/foundation-model-availability/${encodeURIComponent(base)}`,
      flags.endpoint,
    );
    return answer['authorizationStatus'] === 'NOT_AUTHORIZED' ? base : undefined;
  } catch {
    return undefined;
  }
}
