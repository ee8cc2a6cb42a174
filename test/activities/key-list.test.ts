/**
 * A batch input that names a key-list object instead of every key (issue #14: `glueline run --key` with tens of
 * thousands of keys made a workflow input near Temporal's 2 MB limit): copyObjects reads the keys from the object,
 * and refuses a missing or changed one before it copies anything, naming the object.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Activities } from '../../src/activities/s3';
import { keyListOf } from '../../src/workflow-safe/key-list';
import {
  activityEnv,
  awsDeps,
  countingClients,
  newBucket,
  putObjects,
  rejection,
  run,
} from '../../devstack/testkit/aws';
import { stack, unique } from '../../devstack/testkit/stack';

const [primary, replica] = stack().aws.regions as [string, string];
const KEYS = ['in/2026/a.csv', 'in/2026/b.csv', 'in/2026/sub/c.csv'];

async function setup(listed: unknown = KEYS) {
  const { aws } = countingClients();
  const name = unique('kl').toLowerCase();
  const source = await newBucket(aws, primary, `${name}-src`);
  const dest = await newBucket(aws, replica, `${name}-dst`);
  const { ref } = keyListOf({ region: primary, bucket: source, specName: 'sales', batchId: 'b1' }, KEYS);
  await putObjects(aws, primary, source, {
    'in/2026/a.csv': 'a',
    'in/2026/b.csv': 'bb',
    'in/2026/sub/c.csv': 'ccc',
    'in/2026/not-listed.csv': 'x',
    ...(listed === null ? {} : { [ref.key]: typeof listed === 'string' ? listed : JSON.stringify(listed) }),
  });
  const copy = () =>
    run(activityEnv(), createS3Activities(awsDeps(aws)).copyObjects, {
      source: { region: primary, bucket: source, keyList: ref },
      destinations: [{ region: replica, bucket: dest }],
      rename: { stripPrefix: ref.directory, addPrefix: 'raw/batch_id=b1/' },
    });
  const keysInDest = async () =>
    ((await aws.s3(replica).send(new ListObjectsV2Command({ Bucket: dest }))).Contents ?? []).map((o) => o.Key);
  return { ref, copy, keysInDest, source };
}

describe('a batch named by a key-list object', () => {
  test('copyObjects copies exactly the keys the object lists', async () => {
    const { ref, copy, keysInDest } = await setup();
    assert.equal(ref.directory, 'in/2026/');
    assert.equal(ref.key, `_glueline/key-lists/sales/b1-${ref.checksum}.json`);
    const result = await copy();
    assert.deepEqual(result, { objects: 3, bytes: 6, copied: 3, skipped: 0, verifiedKeys: 3 });
    assert.deepEqual(await keysInDest(), [
      'raw/batch_id=b1/a.csv',
      'raw/batch_id=b1/b.csv',
      'raw/batch_id=b1/sub/c.csv',
    ]);
  });

  for (const [name, listed, says] of [
    ['missing', null, /does not exist/],
    ['not JSON', 'in/2026/a.csv\n', /is not JSON/],
    ['not a list of keys', { keys: KEYS }, /is not a JSON array of object keys/],
    ['a key with ..', ['in/../a.csv'], /is not a JSON array of object keys/],
    ['changed since (other keys)', ['in/2026/a.csv', 'in/2026/b.csv'], /lists 2 keys .* not the 3/],
  ] as const) {
    test(`a key-list object that is ${name} fails InvalidInput naming it, before anything is copied`, async () => {
      const { ref, copy, keysInDest, source } = await setup(listed);
      const failure = await rejection(copy());
      assert.equal(failure.type, 'InvalidInput');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, says);
      assert.ok(failure.message.includes(`s3://${source}/${ref.key}`), failure.message);
      assert.deepEqual(await keysInDest(), []);
    });
  }
});
