// tsc copies imported JSON already; this copies the ledger's writer thread (plain JavaScript, so it
// runs under tsx too) and makes the CLI entry executable after a build.
import { chmodSync, copyFileSync, existsSync } from 'node:fs';
copyFileSync(
  new URL('../src/control/ledger-worker.mjs', import.meta.url),
  new URL('../dist/control/ledger-worker.mjs', import.meta.url),
);
const bin = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
