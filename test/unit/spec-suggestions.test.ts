import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { partition } from '@aws-sdk/core/client';
import { parse } from 'yaml';
import { repoRoot } from '../../devstack/paths';
import { yamlLocator } from '../../src/starters/spec-file';
import { AWS_PARTITIONS, AWS_REGIONS, partitionOf } from '../../src/workflow-safe/aws-regions';
import { RunOptions } from '../../src/workflow-safe/run-input';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { closest, didYouMean, editDistance } from '../../src/workflow-safe/suggest';
import { parseOrExplain, SpecValidationError } from '../../src/workflow-safe/validation';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SpecValidationError, String(err));
    return err.problems;
  }
  assert.fail('expected a SpecValidationError');
}

describe('the suggestion for a misspelt name', () => {
  test('counts a swap of two neighbours as one edit', () => {
    assert.equal(editDistance('eu-wset-1', 'eu-west-1'), 1);
    assert.equal(editDistance('notfiy', 'notify'), 1);
    assert.equal(editDistance('colums', 'columns'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  test('names the nearest candidate, ignoring case', () => {
    assert.deepEqual(closest('tranform', ['stage-raw', 'transform', 'crawl-raw']), ['transform']);
    assert.deepEqual(closest('JobName', ['jobName', 'arguments']), ['jobName']);
    assert.deepEqual(closest('us-east', AWS_REGIONS), ['us-east-1', 'us-east-2']);
  });

  test('names nothing when no candidate is a slip away', () => {
    assert.deepEqual(closest('zz', ['name', 'regions']), []);
    assert.deepEqual(closest('columnz_of_the_table', ['columns']), []);
    assert.equal(didYouMean('bogus', ['name', 'description', 'regions']), '');
  });

  test('is worded as a question after a semicolon', () => {
    assert.equal(didYouMean('regoins', ['name', 'regions']), '; did you mean "regions"?');
    assert.equal(didYouMean('us-east', ['us-east-1', 'us-east-2']), '; did you mean "us-east-1" or "us-east-2"?');
  });
});

describe('the AWS regions a spec may name', () => {
  test('are each in the same partition in the pinned AWS SDK', () => {
    for (const { partition: name, regions } of AWS_PARTITIONS) {
      for (const region of regions) {
        const found = partition(region);
        assert.equal(found.name, name, `${region} is in ${found.name} in the SDK, in ${name} here`);
        assert.ok('description' in found, `${region} is not a region the SDK lists (only its pattern matches)`);
      }
    }
  });

  test('include the local stack regions and both halves of the China and GovCloud partitions', () => {
    for (const r of ['us-east-1', 'eu-west-1']) assert.equal(partitionOf(r), 'aws');
    assert.equal(partitionOf('cn-northwest-1'), 'aws-cn');
    assert.equal(partitionOf('us-gov-west-1'), 'aws-us-gov');
    assert.equal(partitionOf('eu-wset-1'), undefined);
  });
});

describe('a spec with misspelt names', () => {
  const local = fs.readFileSync(path.join(repoRoot, 'specs', 'local-sales.yaml'), 'utf8');
  const file = 'specs/x.yaml';
  const check = (text: string) =>
    problems(() => parseOrExplain(PipelineSpec, JSON.parse(JSON.stringify(parse(text))), file, yamlLocator(text)));

  test('names each unknown field at its line and column, with the field it most likely meant', () => {
    const text = local.replace('  curatedPrefix: sales/\n', '  curatedPrefix: sales/\n  colums: []\n');
    const line = text.split('\n').indexOf('  colums: []') + 1;
    assert.deepEqual(check(text), [
      `${file}:${line}:3: transform.colums: unknown field "colums"; did you mean "columns"?`,
    ]);
  });

  test('names an unknown field with no near name, listing the fields it may be', () => {
    const text = local.replace('raw:\n', 'raw:\n  zzz: 1\n');
    assert.match(
      check(text)[0]!,
      /:\d+:3: raw\.zzz: unknown field "zzz": remove it, or use one of prefix, crawler, stageToAllRegions$/,
    );
  });

  test('names a misspelt region at its line, with the region it most likely meant', () => {
    const text = local.replace('  - region: eu-west-1', '  - region: eu-wset-1');
    const line = text.split('\n').indexOf('  - region: eu-wset-1') + 1;
    assert.deepEqual(check(text), [
      `${file}:${line}:5: regions[1].region: "eu-wset-1" is not a region of an AWS partition ` +
        '(aws, aws-cn, aws-us-gov, aws-eusc, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f); did you mean "eu-west-1"?',
    ]);
  });

  test('refuses regions of two partitions', () => {
    const text = local.replace('  - region: eu-west-1', '  - region: cn-north-1');
    assert.match(
      check(text)[0]!,
      /regions\[1\]\.region: "cn-north-1" is in the aws-cn partition and the primary \(us-east-1\) in aws/,
    );
  });

  test('points a bad value in a flow mapping at its key', () => {
    const text = local.replace('{ name: store, type: string', '{ name: store, type: strin');
    const line = text.split('\n').findIndex((l) => l.includes('type: strin,')) + 1;
    const column = text.split('\n')[line - 1]!.indexOf('type:') + 1;
    assert.match(
      check(text)[0]!,
      new RegExp(
        `^specs/x\\.yaml:${line}:${column}: transform\\.columns\\[2\\]\\.type: "strin" is not a supported column type`,
      ),
    );
  });

  test('names a misspelt step with the step it most likely meant', () => {
    assert.deepEqual(
      problems(() => parseOrExplain(RunOptions, { startAt: 'tranform' }, 'options')),
      [
        `options.startAt: "tranform" is not a step: use one of stage-raw, crawl-raw, transform, replicate-curated, crawl-curated, redshift-refresh; did you mean "transform"?`,
      ],
    );
  });
});
