/**
 * A spec or flag with a misspelt field, step or region, through the CLI as its own process: exit 2, each
 * problem at its file, line and column, with the name it most likely meant, and nothing started.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { gluelineProcess } from '../../devstack/testkit/cli';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-spec-errors-'));
const good = path.join(repoRoot, 'specs', 'local-sales.yaml');
const text = fs.readFileSync(good, 'utf8');
// No Temporal or AWS is reached: every case fails validation first. The address is one nothing listens on.
const env = { TEMPORAL_ADDRESS: '127.0.0.1:1', GLUELINE_AWS_ENDPOINT: 'http://127.0.0.1:1' };

/** The 1-based line of `fragment` in `body`, and the column where `at` starts on it. */
function position(body: string, fragment: string, at: string): string {
  const lines = body.split('\n');
  const index = lines.findIndex((l) => l.includes(fragment));
  assert.ok(index >= 0, `${fragment} is not in the spec`);
  return `${index + 1}:${lines[index]!.indexOf(at) + 1}`;
}

describe('glueline with a misspelt name', () => {
  test('a spec with a misspelt field and region exits 2 with each at its line and column, and a suggestion', async () => {
    const bad = text
      .replace('  curatedPrefix: sales/\n', '  curatedPrefix: sales/\n  colums: []\n')
      .replace('  - region: eu-west-1', '  - region: eu-wset-1')
      .replace('\nprovision:', '\nprovison:');
    const file = path.join(workDir, 'bad.yaml');
    fs.writeFileSync(file, bad);

    const { code, stdout, stderr } = await gluelineProcess(
      ['run', '--spec', file, '--batch-id', 'b1', '--prefix', 'landing/b1/'],
      env,
    );

    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    const lines = stderr.split('\n');
    const expected = [
      `${file}:${position(bad, 'eu-wset-1', 'region')}: regions[1].region: "eu-wset-1" is not a region of an AWS partition (aws, aws-cn, aws-us-gov, aws-eusc, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f); did you mean "eu-west-1"?`,
      `${file}:${position(bad, 'colums: []', 'colums')}: transform.colums: unknown field "colums"; did you mean "columns"?`,
      `${file}:${position(bad, 'provison:', 'provison')}: provison: unknown field "provison"; did you mean "provision"?`,
    ];
    for (const line of expected) assert.ok(lines.includes(`  - ${line}`), `missing:\n${line}\nin:\n${stderr}`);
  });

  test('a misspelt step exits 2 naming the step it most likely meant', async () => {
    const { code, stderr } = await gluelineProcess(
      ['run', '--spec', good, '--batch-id', 'b1', '--prefix', 'landing/b1/', '--start-at', 'tranform'],
      env,
    );
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--start-at: "tranform" is not a step: use one of .*; did you mean "transform"\?/);
  });

  test('a misspelt region flag exits 2 naming the region it most likely meant', async () => {
    const { code, stderr } = await gluelineProcess(
      ['step', '--spec', good, '--batch-id', 'b1', '--prefix', 'landing/b1/', '--step', 'crawl-curated'].concat([
        '--region',
        'eu-wset-1',
      ]),
      env,
    );
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /region: "eu-wset-1" is not one of the spec's regions: use one of us-east-1, eu-west-1; did you mean "eu-west-1"\?/,
    );
  });
});
