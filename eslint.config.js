import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
      },
    },
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
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > SpreadElement:first-child ~ *',
          message:
            'A literal that starts with a spread and goes on makes new hidden classes on every call: use Object.assign({}, a, { b }), or put the spread last.',
        },
      ],
    },
  },
  {
    // Pure code: no sockets, no files, no environment, no clock, no randomness. What it needs of the
    // world is passed in (docs/architecture.md, "Rules the lint keeps").
    files: ['src/catalog/**', 'src/check/**', 'src/translate/**', 'src/control/token-bucket.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:fs',
            'fs',
            'node:fs/promises',
            'fs/promises',
            'node:net',
            'net',
            'node:http',
            'http',
            'node:http2',
            'http2',
            'node:child_process',
            'child_process',
          ].map((name) => ({ name, message: 'Pure code does no I/O: take what you need as an argument.' })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Pure code reads no environment: take it as an argument.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pure code reads no clock: take `now` as an argument.' },
        { object: 'performance', property: 'now', message: 'Pure code reads no clock: take `now` as an argument.' },
        {
          object: 'Math',
          property: 'random',
          message: 'Pure code draws no random numbers: take a generator as an argument.',
        },
      ],
    },
  },
  { files: ['src/**/*.ts'], rules: { 'max-lines': ['error', { max: 400 }] } },
  // Prettier wraps code at 120 columns; this keeps strings and comments there too.
  { files: ['src/**/*.ts', 'ui/**/*.ts'], rules: { 'max-len': ['error', { code: 120, ignoreUrls: true }] } },
  {
    // The control plane (stores, counters, the ledger) knows nothing of HTTP: the server uses it,
    // never the other way round. (.dependency-cruiser.cjs keeps the same rule, and no import circles.)
    files: ['src/control/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**'], message: 'control/ never imports server/: move what both need into control/.' },
          ],
        },
      ],
    },
  },
  {
    // Functions of at most 60 lines and a complexity of at most 20: long ones are split into named
    // steps, everywhere in src/ and ui/.
    files: ['src/**/*.ts', 'ui/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 20],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The dashboard runs in the browser.
    files: ['ui/**'],
    languageOptions: {
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        navigator: 'readonly',
        sessionStorage: 'readonly',
        confirm: 'readonly',
        requestAnimationFrame: 'readonly',
        ResizeObserver: 'readonly',
        URLSearchParams: 'readonly',
        Event: 'readonly',
        HTMLElement: 'readonly',
        HTMLInputElement: 'readonly',
        HTMLSelectElement: 'readonly',
        HTMLFormElement: 'readonly',
        Node: 'readonly',
        Element: 'readonly',
      },
    },
  },
);
