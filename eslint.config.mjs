// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

/** What the workflow sandbox cannot load: Node built-ins, AWS SDK clients, nodemailer. */
const workflowBannedImports = {
  patterns: [
    {
      group: ['node:*', '@aws-sdk/*', '@smithy/*', 'nodemailer', 'nodemailer/*'],
      message:
        'Workflow code runs in the deterministic sandbox: do this in an activity and import it with `import type`.',
    },
  ],
  paths: [
    'assert',
    'buffer',
    'child_process',
    'crypto',
    'dns',
    'events',
    'fs',
    'fs/promises',
    'http',
    'https',
    'net',
    'os',
    'path',
    'process',
    'stream',
    'timers',
    'tls',
    'url',
    'util',
    'worker_threads',
    'zlib',
  ].map((name) => ({ name, message: 'Node built-ins are not available in the workflow sandbox.' })),
};

export default tseslint.config(
  { ignores: ['node_modules/', '.devtools/', '.devstack/', 'bench/results/', 'glue/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // import-x/no-cycle parses what a file imports; PGlite's minified bundle overflows the parser's stack.
    settings: { 'import-x/ignore': ['node_modules'] },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', workflowBannedImports],
    },
  },
);
