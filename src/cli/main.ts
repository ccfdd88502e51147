#!/usr/bin/env node
import { Command } from 'commander';
import { registerEmulatorCommand } from './emulator-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerResolveCommand } from './resolve-command.js';
import { registerKeysCommand } from './keys-command.js';

const program = new Command();
program
  .name('bedrock-claude')
  .description('Claude on Amazon Bedrock for everyone who speaks the Anthropic API.')
  .version('0.1.0')
  .showHelpAfterError();

registerServeCommand(program);
registerEmulatorCommand(program);
registerResolveCommand(program);
registerKeysCommand(program);

program.parseAsync().catch((err: unknown) => {
  console.error(`error: ${(err as Error)?.message ?? String(err)}`);
  process.exitCode = 2;
});
