// Debian's Chromium, driven by playwright-core: the browser the dashboard's tests and screenshots
// use. With CI=true it must be there (.ci/run installs it); elsewhere its absence skips loudly.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['BEDROCK_CLAUDE_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env['CI'] === 'true')
    throw new Error(
      `CI=true and there is no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set BEDROCK_CLAUDE_CHROMIUM`,
    );
  const reason = `SKIPPED the dashboard's browser tests: no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set BEDROCK_CLAUDE_CHROMIUM.`;
  console.error(`\n!!! ${reason}\n`);
  return reason;
}

export function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
