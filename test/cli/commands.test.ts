/** invoke, models, resolve, check, convert, doctor: the built binary as a subprocess against the emulator. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { CREDS, signedRequest, tempHome } from '../helpers.js';

let emu: RunningEmulator;
const dir = tempHome();
before(async () => {
  emu = await startEmulator({ port: 0 });
});
after(() => emu.close());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['dist/cli/main.js', ...args],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
          ...opts.env,
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
    child.stdin?.end(opts.input ?? '');
  });
}
const file = (name: string, value: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
};

describe('invoke', () => {
  it('streams the answer, then usage and cost (with the premium) on stderr', async () => {
    const r = await cli([
      'invoke',
      'Hello from the CLI',
      '--region',
      'eu-west-1',
      '--scope',
      'geo',
      '--endpoint',
      emu.url,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Hello from the CLI\n');
    assert.match(r.stderr, /eu\.anthropic\.claude-sonnet-4-6 · \d+ in, \d+ out · \$0\.\d+ incl\. 10% regional premium/);
  });
  it('takes the prompt from stdin, a request file, betas and a system prompt; --json parses', async () => {
    const piped = await cli(
      ['invoke', '--model', 'opus-4.6', '--region', 'us-west-2', '--no-stream', '--endpoint', emu.url],
      { input: 'piped prompt\n' },
    );
    assert.equal(piped.stdout, 'piped prompt\n');
    const req = file('req.json', {
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'from the file' }],
    });
    const r = await cli([
      'invoke',
      '--file',
      req,
      '--region',
      'us-west-2',
      '--json',
      '--system',
      'Be brief',
      '--beta',
      'interleaved-thinking-2025-05-14',
      '--endpoint',
      emu.url,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      modelId: string;
      message: { content: Array<{ text: string }> };
      costUsd: number;
    };
    assert.equal(out.modelId, 'global.anthropic.claude-haiku-4-5-20251001-v1:0');
    assert.equal(out.message.content[0]!.text, 'from the file');
    assert.ok(out.costUsd > 0);
    const sent = emu.received.at(-1)!.body as Record<string, unknown>;
    assert.equal(sent['system'], 'Be brief');
    assert.deepEqual(sent['anthropic_beta'], ['interleaved-thinking-2025-05-14']);
  });
  it('stops before sending on preflight errors, with the fix: unknown model, model not in region, missing region', async () => {
    const before = emu.received.length;
    const unknown = await cli([
      'invoke',
      'hi',
      '--model',
      'claude-sonet-4-5',
      '--region',
      'us-west-2',
      '--endpoint',
      emu.url,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /model-id-format.*\n\s+fix: Did you mean "claude-sonnet-4-5"/);
    const region = await cli([
      'invoke',
      'hi',
      '--model',
      'claude-haiku-4-5',
      '--region',
      'ap-northeast-1',
      '--scope',
      'geo',
      '--endpoint',
      emu.url,
    ]);
    assert.equal(region.code, 1);
    assert.match(
      region.stderr,
      /model-not-in-region[\s\S]*fix: use scope global \(global\.anthropic\.claude-haiku-4-5/,
    );
    const noRegion = await cli(['invoke', 'hi', '--endpoint', emu.url]);
    assert.equal(noRegion.code, 1);
    assert.match(noRegion.stderr, /missing-region[\s\S]*fix: Always pass the region explicitly/);
    assert.equal(emu.received.length, before, 'nothing was sent');
  });
  it('bad credentials: exit 1 with the fix; throttling: exit 3; no prompt: exit 2', async () => {
    const bad = await cli(['invoke', 'hi', '--region', 'us-west-2', '--endpoint', emu.url], {
      env: { AWS_SECRET_ACCESS_KEY: 'wrong' },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /signature we calculated does not match[\s\S]*fix: Check the AWS credentials/);
    emu.setFaults('throttle=1');
    try {
      const throttled = await cli(['invoke', 'hi', '--region', 'us-west-2', '--endpoint', emu.url]);
      assert.equal(throttled.code, 3);
      assert.match(throttled.stderr, /Too many requests/);
    } finally {
      emu.setFaults(undefined);
    }
    assert.equal((await cli(['invoke', '--region', 'us-west-2'])).code, 2);
    assert.equal((await cli(['invoke', '--scope', 'everywhere', 'x'])).code, 2);
  });
});

describe('models', () => {
  it('prints the catalog as a table and as JSON, and what is callable from a region', async () => {
    const t = await cli(['models']);
    assert.equal(t.code, 0);
    assert.match(
      t.stdout,
      /claude-opus-4-6\s+anthropic\.claude-opus-4-6-v1\s+Y\s+Y\s+Y\s+Y\s+Y\s+Y\s+1M\s+Y\s+128K\s+5\/25\s+active/,
    );
    assert.match(
      t.stdout,
      /claude-sonnet-4-5\s+anthropic\.claude-sonnet-4-5-20250929-v1:0\s+Y\s+Y\s+Y\s+Y\s+-\s+Y\s+200K\s+Y\s+64K/,
    );
    const j = await cli(['models', '--region', 'ap-northeast-1', '--json']);
    const rows = JSON.parse(j.stdout) as Array<{
      name: string;
      callable: { global: string | null; geo: string | null };
    }>;
    const haiku = rows.find((r) => r.name === 'claude-haiku-4-5')!;
    assert.deepEqual(haiku.callable, { global: 'global.anthropic.claude-haiku-4-5-20251001-v1:0', geo: null });
    assert.equal(
      rows.find((r) => r.name === 'claude-sonnet-4-5')!.callable.geo,
      'jp.anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
  });
});

describe('check', () => {
  it('lints a Bedrock body with model in it, like a linter, exit 1', async () => {
    const body = file('body.json', {
      model: 'claude-opus-4-6',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const r = await cli(['check', body, '--model', 'global.anthropic.claude-opus-4-6-v1', '--region', 'us-west-2']);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /body\.json:body\.model\s+error\s+body-model\s+Malformed input request: #: extraneous key \[model\] is not permitted/,
    );
    assert.match(r.stdout, /fix: Remove "model" from the body/);
    const j = JSON.parse(
      (await cli(['check', body, '--model', 'global.anthropic.claude-opus-4-6-v1', '--region', 'us-west-2', '--json']))
        .stdout,
    ) as { format: string; diagnostics: Array<{ code: string }> };
    assert.equal(j.format, 'bedrock');
    assert.deepEqual(j.diagnostics.map((d) => d.code).sort(), ['anthropic-version', 'body-model']);
  });
  it('passes a good Anthropic request from stdin, exit 0', async () => {
    const r = await cli(['check', '-', '--region', 'us-west-2'], {
      input: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /no problems found for us-west-2/);
    assert.equal((await cli(['check', '-'], { input: '{nope' })).code, 1);
  });
  it('lints an AWS CLI command line: the seed\'s own "no prefix" example, missing --region, --cli-binary-format', async () => {
    const cmd = `aws bedrock-runtime invoke-model \\
  --model-id "anthropic.claude-opus-4-6-v1" \\
  --body '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}' \\
  output.json`;
    const r = await cli(['check', '--aws-cli', cmd, '--json']);
    const codes = (JSON.parse(r.stdout) as { diagnostics: Array<{ code: string }> }).diagnostics.map((d) => d.code);
    assert.deepEqual(codes.sort(), ['aws-cli-binary-format', 'missing-region', 'on-demand-not-supported']);
    assert.equal(r.code, 1);
  });
  it('a --body file:// it cannot read is reported, and the rest of the command line is still checked', async () => {
    const r = await cli([
      'check',
      '--aws-cli',
      'aws bedrock-runtime invoke-model --region us-east-1 --model-id anthropic.claude-opus-4-6-v1 --body file://missing-body.json out.json',
      '--json',
    ]);
    const out = JSON.parse(r.stdout) as { diagnostics: Array<{ code: string; message: string }> };
    assert.deepEqual(
      out.diagnostics.map((d) => d.code),
      ['body-file-unreadable', 'on-demand-not-supported'],
    );
    assert.match(out.diagnostics[0]!.message, /Cannot read the body file missing-body\.json \(no such file\)/);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '');
  });
});

describe('convert', () => {
  const request = {
    model: 'claude-opus-4-6',
    max_tokens: 256,
    betas: ['context-1m-2025-08-07'],
    system: 'Be kind',
    messages: [{ role: 'user', content: "Hello, it's me" }],
  };
  it('--to aws-cli output passes `check --aws-cli` with no errors', async () => {
    const req = file('convert.json', request);
    const r = await cli(['convert', req, '--to', 'aws-cli', '--region', 'us-west-2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--model-id 'global\.anthropic\.claude-opus-4-6-v1'/);
    const checked = await cli(['check', '--aws-cli', r.stdout, '--json']);
    assert.equal(checked.code, 0, checked.stdout);
    assert.deepEqual((JSON.parse(checked.stdout) as { diagnostics: unknown[] }).diagnostics, []);
  });
  it('--to bedrock-body output is accepted by the emulator', async () => {
    const r = await cli([
      'convert',
      file('convert2.json', request),
      '--to',
      'bedrock-body',
      '--region',
      'eu-west-1',
      '--scope',
      'geo',
    ]);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(body['anthropic_beta'], ['context-1m-2025-08-07']);
    const res = await signedRequest(
      emu.url,
      `/model/${encodeURIComponent('eu.anthropic.claude-opus-4-6-v1')}/invoke`,
      body,
      { region: 'eu-west-1' },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json()['content'] as Array<{ text: string }>)[0]!.text, "Hello, it's me");
  });
  it('writes curl, boto3, TypeScript and Python too', async () => {
    const req = file('convert3.json', { ...request, stream: true });
    const curl = await cli(['convert', req, '--to', 'curl', '--region', 'us-west-2']);
    assert.match(curl.stdout, /--aws-sigv4 "aws:amz:us-west-2:bedrock"/);
    assert.match(curl.stdout, /\/model\/global\.anthropic\.claude-opus-4-6-v1\/invoke-with-response-stream/);
    assert.match(
      (await cli(['convert', req, '--to', 'boto3', '--region', 'us-west-2'])).stdout,
      /invoke_model_with_response_stream\(modelId="global\.anthropic\.claude-opus-4-6-v1"/,
    );
    assert.match(
      (await cli(['convert', req, '--to', 'typescript', '--region', 'us-west-2'])).stdout,
      /client\.beta\.messages\.stream\(/,
    );
    const py = (await cli(['convert', file('convert4.json', request), '--to', 'python', '--region', 'us-west-2']))
      .stdout;
    assert.match(py, /AnthropicBedrock\(aws_region="us-west-2"\)/);
    assert.match(py, /betas=\[\n\s+"context-1m-2025-08-07",/);
  });
  it('--from bedrock goes back to an Anthropic request', async () => {
    const r = await cli(
      ['convert', '-', '--from', 'bedrock', '--model', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'],
      {
        input: JSON.stringify({
          anthropic_version: 'bedrock-2023-05-31',
          anthropic_beta: ['context-1m-2025-08-07'],
          max_tokens: 9,
          messages: [],
        }),
      },
    );
    assert.deepEqual(JSON.parse(r.stdout), {
      model: 'claude-sonnet-4-5',
      max_tokens: 9,
      messages: [],
      betas: ['context-1m-2025-08-07'],
    });
    assert.equal((await cli(['convert', '-', '--from', 'bedrock'], { input: '{}' })).code, 1);
    assert.equal((await cli(['convert', '-', '--to', 'fax'], { input: '{}' })).code, 2);
    const missing = await cli(['convert', file('convert5.json', request), '--to', 'aws-cli']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No AWS region: Bedrock is regional/);
  });
});

describe('doctor', () => {
  it('reports the credential source without secrets, the region, the endpoint and a probe per model', async () => {
    const r = await cli([
      'doctor',
      '--region',
      'us-west-2',
      '--endpoint',
      emu.url,
      '--model',
      'opus-4.6',
      '--model',
      'haiku-4.5',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      findings: Array<{ check: string; ok: boolean; detail: string }>;
    };
    assert.ok(out.ok);
    assert.match(out.findings[0]!.detail, /environment \(AWS_ACCESS_KEY_ID\): access key AKIA…0000/);
    assert.ok(!r.stdout.includes(CREDS.secretAccessKey));
    assert.match(out.findings.find((f) => f.check === 'region')!.detail, /us-west-2 \(from --region\)/);
    assert.match(
      out.findings.find((f) => f.check === 'endpoint')!.detail,
      /is reachable \(a bare GET was answered, HTTP \d+, as expected\)/,
      'a 404 to a bare GET is said to be expected, not shown bare beside a tick',
    );
    assert.ok(out.findings.find((f) => f.check === 'model opus-4.6')!.detail.includes('answered'));
  });
  it('explains failures with the fix: bad credentials, no region, unknown model, dry run', async () => {
    const bad = await cli(['doctor', '--region', 'us-west-2', '--endpoint', emu.url], {
      env: { AWS_SECRET_ACCESS_KEY: 'wrong-secret' },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /✗ model claude-sonnet-4-6: .*signature[\s\S]*fix: Check the AWS credentials/);
    assert.ok(!bad.stdout.includes('wrong-secret'));
    const none = await cli(['doctor', '--dry-run', '--model', 'claude-sonet']);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /✗ region: no region set\n\s+fix: Always specify the region/);
    const dry = await cli([
      'doctor',
      '--dry-run',
      '--region',
      'eu-west-1',
      '--scope',
      'geo',
      '--endpoint',
      emu.url,
      '--model',
      'claude-sonet',
    ]);
    assert.match(dry.stdout, /✗ model claude-sonet: .*\n\s+fix: Did you mean/);
    const nocreds = await cli(['doctor', '--dry-run', '--region', 'eu-west-1', '--endpoint', emu.url], {
      env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    });
    assert.match(
      nocreds.stdout,
      /✗ credentials: none found[\s\S]*fix: Bedrock uses AWS IAM credentials, not an Anthropic API key/,
    );
    // A blank AWS_REGION (a CI secret that is not set) does not hide AWS_DEFAULT_REGION.
    const blank = await cli(['doctor', '--dry-run', '--endpoint', emu.url], {
      env: { AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' },
    });
    assert.match(blank.stdout, /✓ region: eu-west-1 \(from AWS_DEFAULT_REGION\)/);
    const resolved = await cli(['resolve', 'claude-sonnet-4-5', '--scope', 'geo'], {
      env: { AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' },
    });
    assert.equal(resolved.stdout.split('\n')[0], 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const down = await cli(['doctor', '--region', 'us-west-2', '--endpoint', 'http://127.0.0.1:1', '--dry-run']);
    assert.equal(down.code, 3);
    assert.match(down.stdout, /✗ endpoint: http:\/\/127\.0\.0\.1:1 unreachable/);
  });
});

describe('--help', () => {
  it('every command has help with examples', async () => {
    for (const c of ['invoke', 'models', 'resolve', 'check', 'convert', 'doctor', 'serve', 'emulator']) {
      const r = await cli([c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /Examples:/, c);
    }
    for (const c of ['keys', 'teams', 'usage'])
      assert.match((await cli([c, '--help'])).stdout, /Examples:\n {2}npx /, c);
    // Every subcommand says what it does (a listing shows each with a description after its name).
    for (const c of ['keys', 'teams']) {
      const listed = ((await cli([c, '--help'])).stdout.split('Commands:')[1] ?? '').split('Examples:')[0]!;
      const bare = listed
        .split('\n')
        .filter((l) => /^ {2}\w/.test(l) && !/^ {2}help/.test(l))
        .filter((l) => !/\S\s{2,}\S/.test(l.trim()));
      assert.deepEqual(bare, [], `${c}: subcommands without a description`);
    }
  });
});
