// Runs the test suite with node's test runner (through tsx), with line coverage of the pure
// library (catalog/, check/, translate/) checked at 90%. Never lets the AWS credential chain
// probe a metadata service, and keeps HOME in a temp folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const home = mkdtempSync(join(tmpdir(), 'bedrock-claude-test-home-'));
const env = {
  ...process.env,
  AWS_EC2_METADATA_DISABLED: 'true',
  HOME: home,
  DISABLE_TELEMETRY: '1',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  AWS_REGION: '',
  AWS_PROFILE: '',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_BEARER_TOKEN_BEDROCK: '',
  ANTHROPIC_API_KEY: '',
  NODE_NO_WARNINGS: '1',
};
for (const k of Object.keys(env)) if (env[k] === '') delete env[k];

const args = [
  'c8',
  '--all',
  '--src=src',
  '--reporter=text-summary',
  '--reporter=text',
  '--include=src/catalog/**',
  '--include=src/check/**',
  '--include=src/translate/**',
  '--check-coverage',
  '--lines=90',
  'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-reporter=spec',
  ...files,
];
const result = spawnSync('npx', ['--no-install', ...args], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
