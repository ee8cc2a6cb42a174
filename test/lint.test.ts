import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: `${__dirname}/..` });

async function ruleIdsFor(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('the workflow sandbox lint rule', () => {
  test('rejects a Node built-in imported by workflow code', async () => {
    const ids = await ruleIdsFor('src/workflows/index.ts', "import fs from 'fs';\nexport const x = fs;\n");
    assert.deepEqual(ids, ['no-restricted-imports']);
  });

  test('rejects an AWS SDK client imported by workflow code', async () => {
    const ids = await ruleIdsFor(
      'src/workflows/index.ts',
      "import { S3Client } from '@aws-sdk/client-s3';\nexport const x = S3Client;\n",
    );
    assert.deepEqual(ids, ['no-restricted-imports']);
  });

  test('allows the same import outside workflow code', async () => {
    const ids = await ruleIdsFor('src/worker.ts', "import fs from 'fs';\nexport const x = fs;\n");
    assert.deepEqual(ids, []);
  });
});

describe('the folder boundaries', () => {
  const crossing: [string, string, string][] = [
    ['workflow code', 'src/workflows/runner.ts', '../activities/s3'],
    ['sandbox-safe code', 'src/workflow-safe/spec.ts', '../aws/clients'],
    ['the AWS layer', 'src/aws/clients.ts', '../activities/errors'],
    ['activities', 'src/activities/s3.ts', '../starters/common'],
    ['provisioning', 'src/provisioning/index.ts', '../activities/glue'],
    ['the CLI', 'src/starters/run.ts', '../workflows/runner'],
    ['shipped code', 'src/worker.ts', '../devstack/stack'],
    ['benchmarks', 'bench/support.ts', '../test/lint.test'],
  ];
  for (const [who, file, target] of crossing) {
    test(`rejects ${who} importing ${target}`, async () => {
      const ids = await ruleIdsFor(file, `import * as m from '${target}';\nexport const x = m;\n`);
      assert.deepEqual(ids, ['import-x/no-restricted-paths']);
    });
  }

  test('allows workflow code to import the sandbox-safe folder', async () => {
    const ids = await ruleIdsFor(
      'src/workflows/runner.ts',
      "import * as m from '../workflow-safe/spec';\nexport const x = m;\n",
    );
    assert.deepEqual(ids, []);
  });

  test('rejects a Temporal import in the AWS layer', async () => {
    const ids = await ruleIdsFor(
      'src/aws/clients.ts',
      "import * as m from '@temporalio/activity';\nexport const x = m;\n",
    );
    assert.deepEqual(ids, ['no-restricted-imports']);
  });
});
