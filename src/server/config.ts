import { identitySchema } from '../identity/config.js';
import { APPLICATION_PROFILE_ARN } from '../catalog/application-profiles.js';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { fromReferenceConfig, isReferenceConfig } from './reference-config.js';
import { describeConfigIssues, typeFromEnvironment } from './config-errors.js';

/**
 * Replaces `${NAME}` and `${NAME:-default}` with environment values, and `${file:/absolute/path}` with the file's
 * text (a secret mounted as a file; its last newline dropped); a missing one is an error.
 */
export function interpolateEnv(text: string, env: Record<string, string | undefined>): string {
  text = text.replace(/\$\{file:(\/[^}]+)\}/g, (_, path: string) => {
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`config: \${file:${path}} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  });
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_, name: string, fallback: string | undefined) => {
      const value = env[name] ?? fallback;
      if (value === undefined) throw new Error(`config: \${${name}} is not set in the environment`);
      return value;
    },
  );
}

const target = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d+$/, 'an AWS region such as us-west-2'),
    modelId: z.string().min(1),
    backend: z.enum(['invoke', 'messages', 'mantle', 'platform']).optional(),
    endpoint: z.string().url().optional(),
    /** Claude Platform on AWS: the workspace (`wrkspc_...`, bound to the target's region). */
    workspaceId: z
      .string()
      .regex(/^wrkspc_[A-Za-z0-9]{1,100}$/, 'a workspace ID such as wrkspc_01AbC...')
      .optional(),
  })
  .strict()
  .refine((t) => (t.backend === 'platform') === (t.workspaceId !== undefined), {
    message: 'backend "platform" (Claude Platform on AWS) needs workspaceId, and only it takes one',
    path: ['workspaceId'],
  });

/** The gateway's YAML config. Every CLI flag has a key here; flags win over the file. */
/** A secret that seals kept responses: long enough that it is not guessed (`openssl rand -base64 32`). */
const responseKey = z.string().min(32, 'at least 32 characters (openssl rand -base64 32), or ${file:/path} of one');

export const gatewayConfigSchema = z
  .object({
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    region: z.string().optional(),
    scope: z.enum(['global', 'geo', 'in-region']).optional(),
    policy: z.enum(['drop', 'strict', 'passthrough']).optional(),
    bedrockEndpoint: z.string().url().optional(),
    emulator: z.boolean().optional(),
    insecureNoAuth: z.boolean().optional(),
    /** The URL clients use to reach the gateway (its host name is served without keys besides loopback names). */
    publicUrl: z.string().url().optional(),
    /** Sign-in with the company's identity provider (Claude Code's gateway login). */
    identity: identitySchema.optional(),
    dataDir: z.string().min(1).optional(),
    /** PostgreSQL for keys, teams and the ledger, shared by several replicas (env BEDROCK_CLAUDE_DATABASE_URL). */
    store: z
      .string()
      .regex(
        /^postgres(ql)?:\/\//,
        'a PostgreSQL URL (postgres://user@host:5432/db); leave it out for the embedded store',
      )
      .optional(),
    /**
     * Redis for rate limits, concurrency and budget reservations (env BEDROCK_CLAUDE_REDIS_URL), and what its outage
     * does.
     */
    counters: z
      .union([
        z.string().regex(/^rediss?:\/\//, 'a Redis URL (redis://host:6379)'),
        z
          .object({
            url: z.string().regex(/^rediss?:\/\//, 'a Redis URL (redis://host:6379)'),
            failMode: z.enum(['failClosed', 'failOpen']).optional(),
            prefix: z
              .string()
              .min(1)
              .regex(/^[^{}]*$/, "no braces (hash tags are the gateway's)")
              .optional(),
          })
          .strict(),
      ])
      .optional(),
    ledger: z.object({ retainDays: z.number().nonnegative().optional() }).strict().optional(),
    /** Budget alerts: the thresholds (percent of a budget) and the webhooks each goes to. */
    alerts: z
      .object({
        thresholds: z.array(z.number().int().min(1).max(1000)).min(1).max(10).optional(),
        webhooks: z
          .array(
            z
              .object({
                url: z.string().regex(/^https?:\/\/\S+$/, 'an http(s) URL, e.g. https://hooks.slack.com/services/...'),
                format: z.enum(['slack', 'json']).default('json'),
                secret: z.string().min(16, 'at least 16 characters').optional(),
              })
              .strict(),
          )
          .max(10)
          .optional(),
      })
      .strict()
      .optional(),
    /** Responses API responses kept for `previous_response_id` (store: true): on or off, sealed with, for how long. */
    responses: z
      .object({
        store: z.boolean().optional(),
        keys: z.union([responseKey, z.array(responseKey).min(1).max(10)]).optional(),
        retainDays: z.number().positive().max(3650).optional(),
      })
      .strict()
      .optional(),
    adminKey: z.string().min(16, 'at least 16 characters (or sha256:<hex> of the key)').optional(),
    /** More admin keys, by name (the audit log says `admin-key:<id>`); `write: false` keys may only read. */
    adminKeys: z
      .array(
        z
          .object({
            id: z.string().regex(/^[\w.-]{1,64}$/, 'a name of letters, digits, _ . -'),
            key: z.string().min(16, 'at least 16 characters (or sha256:<hex> of the key)'),
            write: z.boolean().default(true),
          })
          .strict(),
      )
      .max(50)
      .optional(),
    timeZone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as UTC or Europe/Berlin')
      .optional(),
    aws: z
      .object({
        profile: z.string().optional(),
        accessKeyId: z.string().optional(),
        secretAccessKey: z.string().optional(),
        sessionToken: z.string().optional(),
        apiKey: z.string().optional(),
      })
      .strict()
      .optional(),
    keys: z
      .array(
        z
          .object({
            name: z.string().min(1),
            sha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/, 'hex SHA-256 of the key (bedrock-claude keys create NAME prints it)'),
            models: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .optional(),
    routes: z
      .record(
        z.string(),
        z.union([
          z.array(target).min(1),
          z
            .object({ policy: z.enum(['drop', 'strict', 'passthrough']).optional(), targets: z.array(target).min(1) })
            .strict(),
        ]),
      )
      .optional(),
    fallbackRegions: z
      .array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d+$/, 'an AWS region such as us-east-1'))
      .optional(),
    applicationProfiles: z
      .record(
        z.string().regex(APPLICATION_PROFILE_ARN, 'an application inference profile ARN'),
        z.string().min(1).max(2048),
      )
      .optional(),
    limits: z
      .object({
        bodyBytes: z.number().int().positive().optional(),
        firstByteMs: z.number().int().positive().optional(),
        idleMs: z.number().int().positive().optional(),
        headersTimeoutMs: z.number().int().positive().optional(),
        keepAliveMs: z.number().int().positive().optional(),
        bodyIdleMs: z.number().int().positive().optional(),
        maxConnections: z.number().int().positive().optional(),
        maxConnectionsPerAddress: z.number().int().min(0).optional(),
        pingMs: z.number().int().min(0).optional(),
        upstreamConcurrency: z.number().int().min(0).optional(),
        shutdownGraceMs: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    retry: z
      .object({
        max: z.number().int().min(0).max(10).optional(),
        baseMs: z.number().int().min(0).optional(),
        capMs: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    openai: z
      .object({
        fetchImages: z.boolean().optional(),
        imageMaxBytes: z.number().int().positive().max(20_000_000).optional(),
      })
      .strict()
      .optional(),
    models: z.unknown().optional(),
  })
  .strict();

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/**
 * Interpolates every string value of a parsed document (comments and keys are left alone, and an env value cannot
 * inject YAML).
 */
/** `${NAME}` (or `${file:...}`) and nothing else: a value the environment gives whole, to type as the schema says. */
const WHOLE = /^\$\{[^}]+\}$/;

function interpolateValues(
  value: unknown,
  env: Record<string, string | undefined>,
  path: PropertyKey[] = [],
  fromEnv?: Set<string>,
): unknown {
  if (typeof value === 'string') {
    if (fromEnv && WHOLE.test(value.trim())) fromEnv.add(JSON.stringify(path));
    return interpolateEnv(value, env);
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateValues(v, env, [...path, i], fromEnv));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateValues(v, env, [...path, k], fromEnv)]),
    );
  return value;
}

/** Parses and validates config text (YAML or JSON), `${ENV}` interpolated in values. */
export function parseGatewayConfig(text: string, env: Record<string, string | undefined> = process.env): GatewayConfig {
  const fromEnv = new Set<string>();
  const parsedText: unknown = interpolateValues(parseYaml(text), env, [], fromEnv);
  // A Claude apps gateway's gateway.yaml is read as it is, for what both products have.
  const reference = isReferenceConfig(parsedText);
  const raw = (reference ? fromReferenceConfig(parsedText) : parsedText) ?? {};
  let parsed = gatewayConfigSchema.safeParse(raw);
  // `port: ${PORT}`: the environment's strings typed as the schema expects them (a number, a boolean).
  if (!parsed.success && !reference && typeFromEnvironment(raw, parsed.error.issues, fromEnv))
    parsed = gatewayConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`config: ${describeConfigIssues(parsed.error.issues, Object.keys(gatewayConfigSchema.shape))}`);
  return parsed.data;
}
