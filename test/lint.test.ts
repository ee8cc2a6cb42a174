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
