// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

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

/**
 * Who may import whom. Each folder of src/ says in its name what it is for; these zones keep it true.
 * test/lint.test.ts proves each one rejects a crossing import.
 */
const boundaries = [
  {
    target: './src/workflows',
    from: './src',
    except: ['./workflows', './workflow-safe'],
    message: 'Workflow code may import only src/workflows/ and src/workflow-safe/ (the sandbox-safe code).',
  },
  {
    target: './src/workflow-safe',
    from: './src',
    except: ['./workflow-safe'],
    message: 'src/workflow-safe/ is loaded into the workflow sandbox: it may import only itself.',
  },
  {
    target: './src/aws',
    from: './src',
    except: ['./aws', './workflow-safe'],
    message: 'src/aws/ is the bottom layer: it may import only itself and src/workflow-safe/.',
  },
  {
    target: './src/activities',
    from: ['./src/workflows', './src/starters', './src/provisioning', './src/worker', './src/worker.ts'],
    message: 'Activities build on src/aws/ and src/workflow-safe/, never on the worker, the CLI or workflow code.',
  },
  {
    target: './src/provisioning',
    from: ['./src/activities', './src/workflows', './src/starters', './src/worker', './src/temporal'],
    message: 'Provisioning builds on src/aws/ and src/workflow-safe/ only.',
  },
  {
    target: './src/starters',
    from: ['./src/activities', './src/workflows'],
    message: 'The CLI is a Temporal client: it starts workflows by name and never loads activity or workflow code.',
  },
  {
    target: './src',
    from: ['./devstack', './test', './bench', './scripts'],
    message: 'src/ is what ships: it never imports the local stack, tests, benchmarks or scripts.',
  },
  {
    target: ['./bench', './devstack', './scripts'],
    from: './test',
    message: 'Share helpers through devstack/testkit/, not test/.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.devtools/', '.devstack/', 'bench/results/', 'dist/', 'glue/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // import-x/no-cycle parses what a file imports; PGlite's minified bundle overflows the parser's stack.
    settings: {
      'import-x/ignore': ['node_modules'],
      // Resolve the project's extensionless TypeScript imports, so no-cycle and no-restricted-paths see them.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
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
    files: ['src/workflows/**/*.ts', 'src/workflow-safe/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', workflowBannedImports],
    },
  },
  {
    files: ['src/aws/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@temporalio/*'],
              message:
                'src/aws/ is the AWS layer: plain calls and state tables, no Temporal (that is src/activities/).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: boundaries }] },
  },
  // Plain CommonJS for Node's `--require` (bench/gc-probe.cjs).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
