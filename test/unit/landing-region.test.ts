/**
 * A landing bucket outside the primary region (#14 finding 7): its region comes from the S3 event record's
 * awsRegion (or EventBridge's region), else the trigger's --source-region, and from --source-region for run and
 * step, into the batch's source.region, which the copy reads through (S3 answers 301 to any other region).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { batchFromFlags } from '../../src/starters/batch-flags';
import { batchOf, parseS3Events } from '../../src/starters/s3-events';
import { loadSpecFile } from '../../src/starters/spec-file';

const spec = loadSpecFile(path.join(repoRoot, 'specs', 'local-sales.yaml'));
const record = (extra: object) =>
  JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'landing-euw2' }, object: { key: 'landing/b-1/a.csv', size: 3 } },
        ...extra,
      },
    ],
  });

describe("the landing bucket's region", () => {
  test("an S3 event record's awsRegion becomes the batch's source region", () => {
    const [object] = parseS3Events(record({ awsRegion: 'eu-west-2' }));
    assert.deepEqual(object, { bucket: 'landing-euw2', key: 'landing/b-1/a.csv', size: 3, region: 'eu-west-2' });
    const found = batchOf({ spec, sourceBucket: 'landing-euw2', sourceRegion: 'ap-south-1' }, object!);
    assert.ok('batch' in found);
    assert.deepEqual(found.batch.source, { bucket: 'landing-euw2', region: 'eu-west-2', prefix: 'landing/b-1/' });
  });

  test("EventBridge's region counts too; without one, the trigger's sourceRegion, else none (the primary)", () => {
    const bridged = parseS3Events(
      JSON.stringify({
        source: 'aws.s3',
        'detail-type': 'Object Created',
        region: 'eu-west-2',
        detail: { bucket: { name: 'landing-euw2' }, object: { key: 'landing/b-1/a.csv' } },
      }),
    );
    assert.equal(bridged[0]!.region, 'eu-west-2');
    const [bare] = parseS3Events(record({}));
    const withFlag = batchOf({ spec, sourceBucket: 'landing-euw2', sourceRegion: 'eu-west-2' }, bare!);
    assert.ok('batch' in withFlag && withFlag.batch.source.region === 'eu-west-2');
    const without = batchOf({ spec, sourceBucket: 'landing-euw2' }, bare!);
    assert.ok('batch' in without && !('region' in without.batch.source));
  });

  test('--source-region names it for run and step, and a region that is none is refused', () => {
    const { batch } = batchFromFlags(
      spec,
      { 'batch-id': 'b-1', prefix: 'landing/b-1/', 'source-bucket': 'landing-euw2', 'source-region': 'eu-west-2' },
      [],
    );
    assert.deepEqual(batch.source, { bucket: 'landing-euw2', region: 'eu-west-2', prefix: 'landing/b-1/' });
    assert.throws(
      () => batchFromFlags(spec, { 'batch-id': 'b-1', key: ['a.csv'], 'source-region': 'mars-1' }, []),
      /batch\.source\.region/,
    );
  });
});
