/**
 * The emulator's Bedrock control plane for the catalog, as @aws-sdk/client-bedrock reads it; the
 * account's access (a model not enabled); `models sync` and `doctor` against it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BedrockClient,
  GetFoundationModelAvailabilityCommand,
  GetFoundationModelCommand,
  GetInferenceProfileCommand,
  ListFoundationModelsCommand,
  ListInferenceProfilesCommand,
} from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { createCatalog } from '../../src/catalog/catalog.js';
import { estimateCost } from '../../src/catalog/estimate-cost.js';
import { resolveModel } from '../../src/catalog/resolve-model.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { CREDS, tempHome } from '../helpers.js';

const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const NEW = 'anthropic.claude-lyric-5-20270101-v1:0';
let emu: RunningEmulator;
const dir = tempHome();
before(async () => {
  emu = await startEmulator({
    port: 0,
    notEnabled: ['claude-haiku-4-5'],
    models: {
      models: [{ name: 'claude-lyric-5', displayName: 'Claude Lyric 5', bedrockId: NEW, profiles: ['global', 'us'] }],
    },
  });
});
after(() => emu.close());

const control = (region: string) =>
  new BedrockClient({ region, endpoint: emu.url, credentials: CREDS, maxAttempts: 1 });

describe("the emulator's control plane (@aws-sdk/client-bedrock)", () => {
  it('ListFoundationModels and GetFoundationModel, per region', async () => {
    const us = control('us-west-2');
    const list = await us.send(new ListFoundationModelsCommand({ byProvider: 'anthropic' }));
    const ids = list.modelSummaries!.map((m) => m.modelId);
    assert.ok(ids.includes(HAIKU) && ids.includes(NEW) && ids.includes('anthropic.claude-opus-4-1-20250805-v1:0'));
    const haiku = list.modelSummaries!.find((m) => m.modelId === HAIKU)!;
    assert.equal(haiku.providerName, 'Anthropic');
    assert.deepEqual(haiku.inferenceTypesSupported, ['INFERENCE_PROFILE']);
    assert.equal(haiku.modelLifecycle?.status, 'ACTIVE');
    assert.equal(
      list.modelSummaries!.find((m) => m.modelId === 'anthropic.claude-3-7-sonnet-20250219-v1:0')?.modelLifecycle
        ?.status,
      'LEGACY',
    );
    const one = await us.send(new GetFoundationModelCommand({ modelIdentifier: HAIKU }));
    assert.equal(one.modelDetails?.modelArn, `arn:aws:bedrock:us-west-2::foundation-model/${HAIKU}`);
    // Opus 4.1 has a us. profile only: not offered from Europe.
    const eu = control('eu-west-1');
    assert.ok(
      !(await eu.send(new ListFoundationModelsCommand({}))).modelSummaries!.some(
        (m) => m.modelId === 'anthropic.claude-opus-4-1-20250805-v1:0',
      ),
    );
    await assert.rejects(
      eu.send(new GetFoundationModelCommand({ modelIdentifier: 'anthropic.claude-opus-4-1-20250805-v1:0' })),
      (e: Error) => e.name === 'ResourceNotFoundException',
    );
    await assert.rejects(
      us.send(new GetFoundationModelCommand({ modelIdentifier: 'anthropic.nope' })),
      (e: Error) => e.name === 'ResourceNotFoundException',
    );
    us.destroy();
    eu.destroy();
  });

  it('ListInferenceProfiles and GetInferenceProfile', async () => {
    const eu = control('eu-west-1');
    const profiles = (await eu.send(new ListInferenceProfilesCommand({ typeEquals: 'SYSTEM_DEFINED' })))
      .inferenceProfileSummaries!;
    assert.ok(
      profiles.some((p) => p.inferenceProfileId === `eu.${HAIKU}`) &&
        !profiles.some((p) => p.inferenceProfileId?.startsWith('us.')),
    );
    const got = await eu.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: `global.${HAIKU}` }));
    assert.equal(got.status, 'ACTIVE');
    assert.equal(got.models?.[0]?.modelArn, `arn:aws:bedrock:eu-west-1::foundation-model/${HAIKU}`);
    await assert.rejects(
      eu.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: `us.${HAIKU}` })),
      (e: Error) => e.name === 'ResourceNotFoundException',
    );
    eu.destroy();
  });

  it('GetFoundationModelAvailability says which models the account may call, and a call to one it may not is refused', async () => {
    const us = control('us-west-2');
    const denied = await us.send(new GetFoundationModelAvailabilityCommand({ modelId: HAIKU }));
    assert.equal(denied.authorizationStatus, 'NOT_AUTHORIZED');
    assert.equal(denied.regionAvailability, 'AVAILABLE');
    assert.equal(
      (await us.send(new GetFoundationModelAvailabilityCommand({ modelId: 'anthropic.claude-opus-4-6-v1' })))
        .authorizationStatus,
      'AUTHORIZED',
    );
    us.destroy();
    const runtime = new BedrockRuntimeClient({
      region: 'us-west-2',
      endpoint: emu.url,
      credentials: CREDS,
      maxAttempts: 1,
    });
    const body = JSON.stringify({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await assert.rejects(
      runtime.send(new InvokeModelCommand({ modelId: `global.${HAIKU}`, body })),
      (e: Error) =>
        e.name === 'AccessDeniedException' &&
        e.message === "You don't have access to the model with the specified model ID.",
    );
    runtime.destroy();
  });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], cwd = process.cwd()): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(process.cwd(), 'dist/cli/main.js'), ...args],
      {
        cwd,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

describe('models sync and doctor, against the emulator', () => {
  it('models sync writes a models file of what the regions really offer, that the catalog then takes', async () => {
    const out = join(dir, 'synced.json');
    const r = await cli(['models', 'sync', '--regions', 'us-west-2,eu-west-1', '--endpoint', emu.url, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote \d+ models from us-west-2, eu-west-1 to .*; new, to be priced: claude-lyric-5/);
    const file = JSON.parse(readFileSync(out, 'utf8')) as { models: Array<Record<string, unknown>> };
    const haiku = file.models.find((m) => m['bedrockId'] === HAIKU)!;
    assert.deepEqual(haiku['access'], { 'us-west-2': 'NOT_AUTHORIZED', 'eu-west-1': 'NOT_AUTHORIZED' });
    assert.deepEqual(haiku['pricing'], { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 });
    assert.deepEqual(haiku['profiles'], ['global', 'us', 'eu']);
    assert.equal((haiku['marks'] as Record<string, string>)['profiles'], 'C', 'what the account said is marked C');
    const opus = file.models.find((m) => m['bedrockId'] === 'anthropic.claude-opus-4-6-v1')!;
    assert.deepEqual(opus['access'], { 'us-west-2': 'AUTHORIZED', 'eu-west-1': 'AUTHORIZED' });
    const fresh = file.models.find((m) => m['bedrockId'] === NEW)!;
    assert.equal(fresh['name'], 'claude-lyric-5');
    assert.equal(fresh['unconfirmed'], true);
    assert.deepEqual(fresh['profiles'], ['global', 'us']);
    assert.deepEqual((fresh['pricing'] as Record<string, number>)['input'], 0);
    assert.equal(
      (
        file.models.find((m) => m['bedrockId'] === 'anthropic.claude-3-7-sonnet-20250219-v1:0')!['lifecycle'] as {
          status: string;
        }
      ).status,
      'deprecated',
    );
    // The file is a models file: the catalog takes it.
    const catalog = createCatalog(file as never);
    assert.equal(resolveModel('claude-lyric-5', { region: 'us-west-2', catalog }).modelId, `global.${NEW}`);
  });

  it('models sync --prices writes per-region prices from the AWS Price List and names each built-in that differs', async () => {
    const same = join(dir, 'priced.json');
    const r = await cli([
      'models',
      'sync',
      '--prices',
      '--check',
      '--regions',
      'us-east-1,eu-west-1',
      '--endpoint',
      emu.url,
      '--out',
      same,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /prices: the built-in prices match the AWS Price List/);
    type Synced = {
      models: Array<
        Record<string, unknown> & { regionPrices?: Record<string, Record<string, Record<string, number>>> }
      >;
    };
    const opus = (JSON.parse(readFileSync(same, 'utf8')) as Synced).models.find((m) => m['name'] === 'claude-opus-5')!;
    assert.equal(opus.regionPrices!['us-east-1']!['global']!['input'], 5);
    assert.equal(opus.regionPrices!['eu-west-1']!['regional']!['input'], 5.5);
    assert.equal(opus.regionPrices!['eu-west-1']!['regional']!['cacheWrite1h'], 11);
    assert.equal((opus['marks'] as Record<string, string>)['pricing'], 'C');

    // An account whose list differs: Opus 5 at $4.50 in, and a model the package does not know, priced.
    const aws = await startEmulator({
      port: 0,
      models: {
        models: [
          { name: 'claude-opus-5', pricing: { input: 4.5, output: 25, cacheWrite: 5.625, cacheRead: 0.45 } },
          {
            name: 'claude-lyric-5',
            displayName: 'Claude Lyric 5',
            bedrockId: NEW,
            profiles: ['global', 'us'],
            pricing: { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
          },
        ],
      },
    });
    try {
      const out = join(dir, 'aws-priced.json');
      const d = await cli([
        'models',
        'sync',
        '--prices',
        '--check',
        '--regions',
        'us-east-1',
        '--endpoint',
        aws.url,
        '--out',
        out,
      ]);
      assert.equal(d.code, 1, d.stderr);
      assert.match(d.stderr, /claude-opus-5 us-east-1 global input: built-in 5, AWS 4\.5\n/);
      assert.match(d.stderr, /claude-opus-5 us-east-1 regional input: built-in 5\.5, AWS 4\.95\n/);
      assert.match(d.stderr, /claude-lyric-5 us-east-1 global output: built-in none, AWS 15\n/);
      const file = JSON.parse(readFileSync(out, 'utf8')) as Synced;
      // The new model takes the list's prices; the gateway then charges the region's price.
      const lyric = file.models.find((m) => m['name'] === 'claude-lyric-5')!;
      assert.equal((lyric['pricing'] as Record<string, number>)['input'], 3);
      const catalog = createCatalog(file as never);
      const usage = { input_tokens: 1_000_000, output_tokens: 0 };
      assert.equal(estimateCost(usage, 'claude-opus-5', 'global', catalog, 'us-east-1').usd, 4.5);
      assert.equal(estimateCost(usage, 'claude-opus-5', 'geo', catalog, 'us-east-1').usd, 4.95);
      // Where the list says nothing, the list prices and the premium.
      assert.equal(estimateCost(usage, 'claude-opus-5', 'geo', catalog, 'ap-northeast-1').usd, 5.5);
    } finally {
      await aws.close();
    }
  });

  it('doctor says which endpoint serves each model, and flags an SDK here that sends 2026-10-21 to a legacy one', async () => {
    const args = [
      'doctor',
      '--region',
      'us-west-2',
      '--endpoint',
      emu.url,
      '--model',
      'claude-opus-4-6',
      '--model',
      'claude-opus-5',
    ];
    // This repository has @anthropic-ai/sdk 1.x installed, which sends 2026-10-21.
    const here = await cli(args);
    assert.equal(here.code, 0, here.stdout + here.stderr);
    assert.match(
      here.stdout,
      /✓ model claude-opus-4-6: global\.anthropic\.claude-opus-4-6-v1 on bedrock-runtime InvokeModel\/Converse answered/,
    );
    assert.match(
      here.stdout,
      /✓ model claude-opus-5: global\.anthropic\.claude-opus-5 on bedrock-runtime Messages API answered/,
    );
    assert.match(
      here.stdout,
      /! api version: @anthropic-ai\/sdk 1\.\d+\.\d+ here sends anthropic-version 2026-10-21 by default, which Bedrock's legacy models refuse \(400\): Claude Opus 4\.6/,
    );
    assert.match(here.stdout, /fix: Pin the version in the client/);
    // Where no such SDK is installed, nothing is said of it.
    const elsewhere = await cli(args, dir);
    assert.equal(elsewhere.code, 0, elsewhere.stdout);
    assert.doesNotMatch(elsewhere.stdout, /api version/);
  });

  it('doctor says there is no access to a model before a probe fails, with the console step', async () => {
    const r = await cli([
      'doctor',
      '--region',
      'us-west-2',
      '--endpoint',
      emu.url,
      '--model',
      'claude-haiku-4-5',
      '--model',
      'claude-opus-4-6',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /✗ model claude-haiku-4-5: you have no access to anthropic\.claude-haiku-4-5-20251001-v1:0 in us-west-2/,
    );
    assert.match(r.stdout, /fix: In the Bedrock console for us-west-2: Model access → Modify model access/);
    assert.match(r.stdout, /✓ model claude-opus-4-6: .* answered/);
  });
});
