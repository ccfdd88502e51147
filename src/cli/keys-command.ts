import type { Command } from 'commander';
import { createGatewayKey } from '../server/gateway-keys.js';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('Manage gateway keys.');
  keys
    .command('create')
    .description('Print a new gateway key once, and the config lines that store only its hash.')
    .argument('<name>', 'a name for the key (shown in logs)')
    .action((name: string) => {
      const { key, entry } = createGatewayKey(name);
      console.log(`key: ${key}`);
      console.log('\n# add to gateway.yaml under keys: (the key itself is not stored anywhere)');
      console.log(`  - name: ${entry.name}\n    sha256: ${entry.sha256}`);
    });
}
