import type { EmulatorCredentials } from './verify-auth.js';

/** The credentials the emulator accepts when none are configured (documented in the README). */
export const EMULATOR_CREDENTIALS: EmulatorCredentials = {
  accessKeyId: 'AKIAEMULATOR00000000',
  secretAccessKey: 'bedrock-claude-emulator-secret',
};
