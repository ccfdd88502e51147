#!/usr/bin/env node
import { Command } from 'commander';
import { registerEmulatorCommand } from './emulator-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerResolveCommand } from './resolve-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerTeamsCommand } from './teams-command.js';
import { registerAuditCommand, registerPeopleCommand } from './people-command.js';
import { registerUsageCommand } from './usage-command.js';
import { registerInvokeCommand } from './invoke-command.js';
import { registerModelsCommand } from './models-command.js';
import { registerCheckCommand } from './check-command.js';
import { registerConvertCommand } from './convert-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { exitCodeOf } from './output.js';

const program = new Command();
program
  .name('bedrock-claude')
  .description('Claude on Amazon Bedrock for everyone who speaks the Anthropic API.')
  .version('0.1.0')
  // One line, not the whole help: the help is a --help away.
  .showHelpAfterError('(add --help for usage)');

// Set before the commands are added, so they inherit it: commander's own usage errors (unknown
// option, missing argument) exit 2; --help and --version exit 0.
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});

registerInvokeCommand(program);
registerModelsCommand(program);
registerResolveCommand(program);
registerCheckCommand(program);
registerConvertCommand(program);
registerDoctorCommand(program);
registerServeCommand(program);
registerEmulatorCommand(program);
registerKeysCommand(program);
registerTeamsCommand(program);
registerPeopleCommand(program);
registerAuditCommand(program);
registerUsageCommand(program);

program.parseAsync().catch((err: unknown) => {
  console.error(`error: ${(err as Error)?.message ?? String(err)}`);
  const fix = (err as { fix?: unknown } | undefined)?.fix;
  if (typeof fix === 'string') console.error(`fix: ${fix}`);
  process.exitCode = exitCodeOf(err);
});
