import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { files: ['src/cli/**', 'scripts/**', 'bench/**', 'test/**', 'examples/**'], rules: { 'no-console': 'off' } },
  {
    // The request path: in Node 20's V8, a literal that starts with a spread and then adds a key
    // (`{ ...a, b }`, `{ ...a, ...b }`) builds new hidden classes on every call (~1.3 us, garbage maps,
    // megamorphic access later). Measured in bench/README.md, fourth round.
    files: ['src/server/**', 'src/transport/**', 'src/translate/**', 'src/aws/**'],
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ObjectExpression > SpreadElement:first-child ~ *', message: 'A literal that starts with a spread and goes on makes new hidden classes on every call: use Object.assign({}, a, { b }), or put the spread last.' }],
    },
  },
);
