import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CancelledFailure } from '@temporalio/common';
import { planChecksum, progressDetails } from '../../src/activities/copy-progress';
import { createS3Activities } from '../../src/activities/s3';
import { compareCopy, planCopyParts, MAX_PARTS } from '../../src/aws/s3-copy';
import type { CopyProgress } from '../../src/workflow-safe/activity-types';
import { uploadFile } from '../../src/aws/upload';
import {
  activityEnv,
  awsDeps,
  countingClients,
  fakeClients,
  newBucket,
  putMultipartObject,
  putObjects,
  rejection,
  run,
} from '../../devstack/testkit/aws';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const [primary, replica] = stack().aws.regions as [string, string];
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const gateway = new GatewayControl();

async function setup(
  objects: Record<string, string> = { 'out/a.parquet': 'aaa', 'out/b.parquet': 'bbbb', 'out/c.parquet': 'c' },
) {
  const { aws, log } = countingClients();
  // One prefix for the test's buckets, so gateway fault rules and counts can name all of them at once.
  const buckets = unique('act').toLowerCase();
  const source = await newBucket(aws, primary, `${buckets}-src`);
  const destPrimary = await newBucket(aws, primary, `${buckets}-dst`);
  const destReplica = await newBucket(aws, replica, `${buckets}-dst`);
  await putObjects(aws, primary, source, objects);
  log.calls.length = 0;
  return { aws, log, buckets, source, destPrimary, destReplica, s3: createS3Activities(awsDeps(aws)) };
}

/** What the SDK throws for a HEAD of a missing object. */
const notFound = () => Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });

async function body(aws: ReturnType<typeof countingClients>['aws'], region: string, bucket: string, key: string) {
  const out = await aws.s3(region).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

describe('copyObjects', () => {
  test('copies every object under a prefix to buckets in two regions and verifies each', async () => {
    const { aws, source, destPrimary, destReplica, s3 } = await setup();
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [
        { region: primary, bucket: destPrimary },
        { region: replica, bucket: destReplica },
      ],
    });
    assert.deepEqual(result, { objects: 3, bytes: 8, copied: 6, skipped: 0, verifiedKeys: 6 });
    assert.equal(await body(aws, replica, destReplica, 'out/b.parquet'), 'bbbb');
    assert.equal(await body(aws, primary, destPrimary, 'out/c.parquet'), 'c');
  });

  test('skips objects already identical at the destination', async () => {
    const { log, source, destReplica, s3 } = await setup();
    const input = {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
    };
    await run(activityEnv(), s3.copyObjects, input);
    log.calls.length = 0;
    const again = await run(activityEnv(), s3.copyObjects, input);
    assert.deepEqual(again, { objects: 3, bytes: 8, copied: 0, skipped: 3, verifiedKeys: 3 });
    assert.equal(log.count('CopyObject'), 0);
  });

  test('copies again an object that differs at the destination', async () => {
    const { aws, log, source, destReplica, s3 } = await setup({ 'out/a.parquet': 'new content' });
    await putObjects(aws, replica, destReplica, { 'out/a.parquet': 'old content' });
    log.calls.length = 0;
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, keys: ['out/a.parquet'] },
      destinations: [{ region: replica, bucket: destReplica }],
    });
    assert.equal(result.copied, 1);
    assert.equal(await body(aws, replica, destReplica, 'out/a.parquet'), 'new content');
  });

  test('resumes from heartbeat details without copying the objects a previous attempt verified', async () => {
    const { log, source, destReplica, s3 } = await setup();
    const previous: CopyProgress = {
      verified: [`${replica}/${destReplica}/out/a.parquet`, `${replica}/${destReplica}/out/b.parquet`],
      bytesDone: 7,
    };
    const env = activityEnv({ heartbeatDetails: previous, attempt: 2 });
    const result = await run(env, s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
    });
    assert.equal(log.count('CopyObject'), 1);
    assert.equal(log.calls.find((c) => c.command === 'CopyObject')?.input.Key, 'out/c.parquet');
    assert.deepEqual(result, { objects: 3, bytes: 8, copied: 1, skipped: 2, verifiedKeys: 3 });
  });

  test('heartbeats the verified destinations as a bitmap over the plan, not their keys, and the bytes done', async () => {
    const { source, destReplica, s3 } = await setup();
    const env = activityEnv();
    await run(env, s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
      concurrency: 1,
    });
    const last = env.heartbeats.at(-1) as CopyProgress;
    assert.equal(last.verified, undefined, 'the heartbeat lists keys');
    const ids = ['a', 'b', 'c'].map((k) => `${replica}/${destReplica}/out/${k}.parquet`);
    assert.deepEqual(last, progressDetails(3, planChecksum(ids), [0, 1, 2], 8));
  });

  test('resumes from a bitmap heartbeat of the same plan, and starts over from one of another plan', async () => {
    const { log, source, destReplica, s3 } = await setup();
    const ids = ['a', 'b', 'c'].map((k) => `${replica}/${destReplica}/out/${k}.parquet`);
    const input = {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
    };
    const resumed = await run(
      activityEnv({ heartbeatDetails: progressDetails(3, planChecksum(ids), [0, 2], 4), attempt: 2 }),
      s3.copyObjects,
      input,
    );
    assert.deepEqual(
      log.calls.filter((c) => c.command === 'CopyObject').map((c) => c.input.Key),
      ['out/b.parquet'],
    );
    assert.deepEqual(resumed, { objects: 3, bytes: 8, copied: 1, skipped: 2, verifiedKeys: 3 });
    // Another plan's bitmap (here: other keys) says nothing about these items: each is looked at again.
    const other = progressDetails(3, planChecksum(['x', 'y', 'z']), [0, 1, 2], 8);
    log.calls.length = 0;
    const again = await run(activityEnv({ heartbeatDetails: other, attempt: 2 }), s3.copyObjects, input);
    // The bitmap said all three were done; a and c were never copied, and are now.
    assert.deepEqual(
      log.calls
        .filter((c) => c.command === 'CopyObject')
        .map((c) => String(c.input.Key))
        .sort(),
      ['out/a.parquet', 'out/c.parquet'],
    );
    assert.deepEqual(again, { objects: 3, bytes: 8, copied: 2, skipped: 1, verifiedKeys: 3 });
  });

  test('renames keys by stripping one prefix and adding another', async () => {
    const { aws, source, destReplica, s3 } = await setup({ 'incoming/x.csv': 'id\n1\n' });
    await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, keys: ['incoming/x.csv'] },
      destinations: [{ region: replica, bucket: destReplica }],
      rename: { stripPrefix: 'incoming/', addPrefix: 'raw/batch_id=b1/' },
    });
    assert.equal(await body(aws, replica, destReplica, 'raw/batch_id=b1/x.csv'), 'id\n1\n');
  });

  test('copies the last keys only after every other object is verified', async () => {
    const { log, source, destReplica, s3 } = await setup({
      'out/a.parquet': 'a',
      'out/b.parquet': 'b',
      'out/c.parquet': 'c',
      '_glueline/manifest.json': '{}',
    });
    await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
      lastKeys: ['_glueline/manifest.json'],
      concurrency: 8,
    });
    const order = log.calls
      .filter((c) => c.command === 'CopyObject' || c.command === 'HeadObject')
      .map((c) => `${c.command} ${String(c.input.Bucket)}/${String(c.input.Key)}`);
    const manifestCopy = order.indexOf(`CopyObject ${destReplica}/_glueline/manifest.json`);
    assert.ok(manifestCopy > 0, 'the manifest was not copied');
    const lastDataVerify = order.lastIndexOf(`HeadObject ${destReplica}/out/c.parquet`);
    for (const key of ['a', 'b', 'c']) {
      assert.ok(
        order.lastIndexOf(`HeadObject ${destReplica}/out/${key}.parquet`) < manifestCopy,
        `out/${key} verified after the manifest copy`,
      );
    }
    assert.ok(lastDataVerify < manifestCopy);
  });

  test('fails non-retryably with NoSourceObjects naming the bucket and prefix when the source is empty', async () => {
    const { source, destReplica, s3 } = await setup({});
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, prefix: 'out/batch_id=7/' },
        destinations: [{ region: replica, bucket: destReplica }],
      }),
    );
    assert.equal(err.type, 'NoSourceObjects');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`s3://${source}/out/batch_id=7/`));
    assert.match(err.message, /expects an earlier step to have written them/);
  });

  test("an empty batch source (stage-raw) is blamed on the batch's prefix, not on an earlier step", async () => {
    const { source, destReplica, s3 } = await setup({});
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, prefix: 'landing/2026-11-30/' },
        destinations: [{ region: replica, bucket: destReplica }],
        sourceIs: 'batch',
      }),
    );
    assert.equal(err.type, 'NoSourceObjects');
    assert.match(
      err.message,
      new RegExp(
        `^no objects in the batch's source s3://${source}/landing/2026-11-30/ \\(${primary}\\): the batch's prefix is empty`,
      ),
    );
    assert.match(err.message, /--prefix .*names the folder its CSVs are in, and that their upload finished/);
    assert.doesNotMatch(err.message, /previous|earlier step/);
  });

  test('an SSE-C source object fails non-retryably, naming the object and the fix, and nothing is copied', async () => {
    const { aws, source, destPrimary, destReplica, s3, log } = await setup({ 'landing/b2/plain.csv': 'a\n1\n' });
    await aws.s3(primary).send(
      new PutObjectCommand({
        Bucket: source,
        Key: 'landing/b2/secret.csv',
        Body: 'a\n2\n',
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: randomBytes(32).toString('base64'),
      }),
    );
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, prefix: 'landing/b2/' },
        destinations: [
          { region: primary, bucket: destPrimary },
          { region: replica, bucket: destReplica },
        ],
        sourceIs: 'batch',
      }),
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`s3://${source}/landing/b2/secret\\.csv`));
    assert.match(err.message, /customer-provided key \(SSE-C\).*Store the batch's objects with SSE-S3 or SSE-KMS/);
    const written = log.calls.filter(
      (c) => /Copy|Put|Upload/.test(c.command) && [destPrimary, destReplica].includes(c.input.Bucket as string),
    );
    assert.deepEqual(written, [], 'no copy of the batch was made');
  });

  test("a key under the batch's prefix with a '..' segment is refused, naming it, before anything is copied", async () => {
    const { source, destPrimary, destReplica, s3, log } = await setup({
      'landing/b1/good.csv': 'a\n1\n',
      'landing/b1/x/../y.csv': 'a\n2\n',
    });
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, prefix: 'landing/b1/' },
        destinations: [
          { region: primary, bucket: destPrimary },
          { region: replica, bucket: destReplica },
        ],
        sourceIs: 'batch',
      }),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`^object s3://${source}/landing/b1/x/\\.\\./y\\.csv in the batch's source`));
    assert.match(err.message, /no '\.\.' segment.*Rename it, or move it out of the batch's prefix/);
    assert.deepEqual(
      log.calls.filter((c) => /Copy|Put|Upload/.test(c.command)),
      [],
    );
  });

  test('copies nothing and succeeds on an empty source when objects are not required', async () => {
    const { source, destReplica, s3 } = await setup({});
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
      requireObjects: false,
    });
    assert.deepEqual(result, { objects: 0, bytes: 0, copied: 0, skipped: 0, verifiedKeys: 0 });
  });

  test('fails non-retryably naming the bucket when the source bucket does not exist', async () => {
    const { destReplica, s3 } = await setup({});
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: 'glueline-no-such-bucket', prefix: 'out/' },
        destinations: [{ region: replica, bucket: destReplica }],
      }),
    );
    assert.equal(err.type, 'NoSuchBucket');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /bucket glueline-no-such-bucket does not exist in us-east-1.*npm run provision/);
  });

  test("reads a landing bucket in another region through its region; named with the primary's, fails at once naming it", async () => {
    const { aws, buckets, destPrimary, s3 } = await setup({});
    // A landing bucket in the replica's region, copied into the primary's raw bucket, as stage-raw does.
    const landing = await newBucket(aws, replica, `${buckets}-landing`);
    await putObjects(aws, replica, landing, { 'in/a.csv': 'a\n1\n' });
    const copied = await run(activityEnv(), s3.copyObjects, {
      source: { region: replica, bucket: landing, prefix: 'in/' },
      destinations: [{ region: primary, bucket: destPrimary }],
    });
    assert.equal(copied.copied, 1);
    assert.equal(await body(aws, primary, destPrimary, 'in/a.csv'), 'a\n1\n');
    await gateway.resetCounts(landing);
    // Without the batch's source region the copy asks the primary's endpoint: S3 answers 301, every time.
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: landing, prefix: 'in/' },
        destinations: [{ region: primary, bucket: destPrimary }],
      }),
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`^bucket ${landing} is in ${replica}, not ${primary}: .*--source-region`));
    assert.equal((await gateway.counts(landing))['s3:ListObjectsV2']?.count, 1, 'a 301 is not sent again');
  });

  test("S3's RequestTimeout and expired credentials fail an attempt retryably, named as such; the next one copies", async () => {
    const { source, destReplica, s3 } = await setup();
    const input = {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
    };
    for (const [type, pattern] of [
      ['requestTimeout', /ListObjectsV2 on bucket .* failed: RequestTimeout \(HTTP 400\)/],
      ['expiredToken', /the worker's AWS credentials expired \(ExpiredToken: .*Tried again with renewed credentials/],
    ] as const) {
      // More firings than the SDK's own attempts, so the activity sees the error.
      const err = await gateway.withFault(
        { target: 's3:ListObjectsV2', action: { type }, resource: source, count: 10 },
        () => rejection(run(activityEnv(), s3.copyObjects, input)),
      );
      assert.equal(err.nonRetryable, false, `${type}: Temporal tries the activity again`);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /denied/);
    }
    assert.equal((await run(activityEnv(), s3.copyObjects, input)).copied, 3);
  });

  test('fails non-retryably naming the key when a given source key does not exist', async () => {
    const { source, destReplica, s3 } = await setup();
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, keys: ['out/a.parquet', 'out/missing.parquet'] },
        destinations: [{ region: replica, bucket: destReplica }],
      }),
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`object s3://${source}/out/missing.parquet does not exist`));
  });

  test('fails non-retryably naming the destination bucket when it does not exist', async () => {
    const { source, s3 } = await setup();
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, prefix: 'out/' },
        destinations: [{ region: replica, bucket: 'glueline-no-such-dest' }],
      }),
    );
    assert.equal(err.type, 'NoSuchBucket');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /^bucket glueline-no-such-dest does not exist in eu-west-1 .*npm run provision/);
  });

  test('fails non-retryably with CopyVerificationFailed when the copy does not match its source', async () => {
    // Fake: the local S3 always copies faithfully.
    let copies = 0;
    const { aws } = fakeClients((command, input) => {
      if (command === 'CopyObject') copies++;
      if (command === 'HeadObject' && input.Bucket === 'src') return { ContentLength: 4, ETag: '"abc"' };
      if (command === 'HeadObject' && copies === 0) throw notFound();
      if (command === 'HeadObject') return { ContentLength: 3, ETag: '"abd"' };
      return {};
    });
    const err = await rejection(
      run(activityEnv(), createS3Activities(awsDeps(aws)).copyObjects, {
        source: { region: primary, bucket: 'src', keys: ['out/a.parquet'] },
        destinations: [{ region: replica, bucket: 'dst' }],
      }),
    );
    assert.equal(err.type, 'CopyVerificationFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(
      err.message,
      /s3:\/\/dst\/out\/a.parquet \(eu-west-1\) does not match its source: size 3 bytes, source 4 bytes/,
    );
  });

  test('leaves the objects it verified in its heartbeat when a later copy fails, so a retry resumes', async () => {
    // Fake: a gateway fault rule cannot pick out one object's copy.
    const copied = new Set<string>();
    const { aws } = fakeClients((command, input) => {
      const key = String(input.Key);
      if (command === 'HeadObject' && input.Bucket === 'src') return { ContentLength: 1, ETag: `"${key}"` };
      if (command === 'HeadObject') {
        if (!copied.has(key)) throw notFound();
        return { ContentLength: 1, ETag: `"${key}"` };
      }
      if (command === 'CopyObject') {
        if (key === 'c')
          throw Object.assign(new Error('We encountered an internal error'), {
            name: 'InternalError',
            $metadata: { httpStatusCode: 500 },
          });
        copied.add(key);
      }
      return {};
    });
    const env = activityEnv();
    const err = await rejection(
      run(env, createS3Activities(awsDeps(aws)).copyObjects, {
        source: { region: primary, bucket: 'src', keys: ['a', 'b', 'c'] },
        destinations: [{ region: replica, bucket: 'dst' }],
        concurrency: 1,
      }),
    );
    assert.equal(err.nonRetryable, false);
    const ids = ['a', 'b', 'c'].map((k) => `${replica}/dst/${k}`);
    assert.deepEqual(env.heartbeats.at(-1), progressDetails(3, planChecksum(ids), [0, 1], 2));
  });

  test('aborts the copies in flight and starts no more when cancelled', async () => {
    const { source, destReplica, s3 } = await setup({ a: '1', b: '2', c: '3', d: '4' });
    // Copies that outlast the test: the gateway holds every CopyObject for 15 s.
    await gateway.withFault(
      { target: 's3:CopyObject', action: { type: 'latency', ms: 15_000 }, resource: destReplica },
      async () => {
        const env = activityEnv();
        const copying = run(env, s3.copyObjects, {
          source: { region: primary, bucket: source, keys: ['a', 'b', 'c', 'd'] },
          destinations: [{ region: replica, bucket: destReplica }],
          concurrency: 2,
        });
        await pollUntil(
          () => gateway.counts(destReplica),
          (counts) => counts['s3:CopyObject']?.count === 2,
        );
        env.cancel();
        await assert.rejects(copying, (err) => err instanceof CancelledFailure);
      },
    );
    assert.equal((await gateway.counts(destReplica))['s3:CopyObject']?.count, 2);
  });

  test('keeps heartbeating while one long copy runs', async () => {
    const { source, destReplica, s3 } = await setup({ big: 'b' });
    const env = activityEnv();
    // The CopyObject is served and its answer held until the activity has heartbeaten twice more while waiting.
    const rule = await gateway.addFault({
      target: 's3:CopyObject',
      action: { type: 'hold' },
      resource: destReplica,
      count: 1,
    });
    try {
      const copying = run(env, s3.copyObjects, {
        source: { region: primary, bucket: source, keys: ['big'] },
        destinations: [{ region: replica, bucket: destReplica }],
      });
      const held = await gateway.waitForHold((h) => h.ruleId === rule.id, 60_000);
      const atHold = env.heartbeats.length;
      await pollUntil(
        async () => env.heartbeats.length,
        (n) => n >= atHold + 2,
        { timeoutMs: 60_000 },
      );
      await gateway.release(held.id);
      assert.equal((await copying).copied, 1);
    } finally {
      await gateway.deleteFault(rule.id);
      for (const h of await gateway.holds()) if (h.ruleId === rule.id) await gateway.release(h.id);
    }
  });

  test('survives throttled (SlowDown) listing, HEAD and copy requests', async () => {
    const { aws, buckets, source, destReplica, s3 } = await setup();
    const throttle = (operation: string) => ({
      target: `s3:${operation}`,
      action: { type: 'throttle' as const },
      resource: buckets,
      count: 2,
    });
    const result = await gateway.withFault(throttle('ListObjectsV2'), () =>
      gateway.withFault(throttle('HeadObject'), () =>
        gateway.withFault(throttle('CopyObject'), () =>
          run(activityEnv(), s3.copyObjects, {
            source: { region: primary, bucket: source, prefix: 'out/' },
            destinations: [{ region: replica, bucket: destReplica }],
          }),
        ),
      ),
    );
    assert.deepEqual(result, { objects: 3, bytes: 8, copied: 3, skipped: 0, verifiedKeys: 3 });
    assert.equal(await body(aws, replica, destReplica, 'out/b.parquet'), 'bbbb');
    const counts = await gateway.counts(buckets);
    for (const operation of ['ListObjectsV2', 'HeadObject', 'CopyObject']) {
      assert.equal(counts[`s3:${operation}`]?.faulted, 2, `${operation} was not throttled twice`);
    }
  });

  test('copies an object uploaded in parts with the same parts, so its ETag matches, and keeps its tags', async () => {
    const { aws, log, source, destReplica, s3 } = await setup({});
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-')), 'big.bin');
    fs.writeFileSync(file, Buffer.alloc(11 * MiB, 7));
    const uploaded = await uploadFile(aws, file, 'out/big.bin', [{ region: primary, bucket: source }], {
      partSizeBytes: 5 * MiB,
    });
    const TagSet = [
      { Key: 'team', Value: 'data ml/2026' },
      { Key: 'pii', Value: 'no' },
    ];
    await aws
      .s3(primary)
      .send(new PutObjectTaggingCommand({ Bucket: source, Key: 'out/big.bin', Tagging: { TagSet } }));
    log.calls.length = 0;
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [{ region: replica, bucket: destReplica }],
    });
    assert.equal(result.copied, 1);
    assert.equal(log.count('UploadPartCopy'), 3);
    const head = await aws.s3(replica).send(new HeadObjectCommand({ Bucket: destReplica, Key: 'out/big.bin' }));
    assert.equal(head.ETag, uploaded.etags[`${primary}/${source}`]);
    assert.equal(head.ContentLength, 11 * MiB);
    const tags = await aws.s3(replica).send(new GetObjectTaggingCommand({ Bucket: destReplica, Key: 'out/big.bin' }));
    assert.deepEqual(
      tags.TagSet?.map((t) => [t.Key, t.Value]).sort(),
      [
        ['pii', 'no'],
        ['team', 'data ml/2026'],
      ],
      'the multipart copy keeps the tags CopyObject would have kept',
    );
  });

  test("a CompleteMultipartUpload whose answer was lost is verified, not failed on the retry's NoSuchUpload", async () => {
    const { aws, source, destReplica, s3 } = await setup({});
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-')), 'parts.bin');
    fs.writeFileSync(file, Buffer.alloc(6 * MiB, 3));
    await uploadFile(aws, file, 'out/parts.bin', [{ region: primary, bucket: source }], { partSizeBytes: 5 * MiB });
    // S3 completes the upload, then the answer is lost: the SDK sends Complete again and gets NoSuchUpload.
    const result = await gateway.withFault(
      { target: 's3:CompleteMultipartUpload', action: { type: 'after', then: 500 }, resource: destReplica, count: 1 },
      () =>
        run(activityEnv(), s3.copyObjects, {
          source: { region: primary, bucket: source, keys: ['out/parts.bin'] },
          destinations: [{ region: replica, bucket: destReplica }],
        }),
    );
    assert.equal(result.copied, 1);
    const counts = await gateway.counts(destReplica);
    assert.equal(counts['s3:CompleteMultipartUpload']?.faulted, 1, 'the fault fired');
    const head = await aws.s3(replica).send(new HeadObjectCommand({ Bucket: destReplica, Key: 'out/parts.bin' }));
    assert.equal(head.ContentLength, 6 * MiB);
  });
});

describe('planCopyParts', () => {
  test('splits an object above 5 GiB into parts that cover every byte once', () => {
    const size = 6 * GiB + 123;
    const parts = planCopyParts(size);
    assert.equal(parts[0]!.first, 0);
    assert.equal(parts.at(-1)!.last, size - 1);
    parts.slice(1).forEach((p, i) => assert.equal(p.first, parts[i]!.last + 1));
    assert.deepEqual(
      parts.map((p) => p.partNumber),
      parts.map((_, i) => i + 1),
    );
  });

  test("reuses the source's own part size so the copy reproduces its ETag", () => {
    const parts = planCopyParts(12 * MiB, 5 * MiB);
    assert.deepEqual(
      parts.map((p) => [p.first, p.last]),
      [
        [0, 5 * MiB - 1],
        [5 * MiB, 10 * MiB - 1],
        [10 * MiB, 12 * MiB - 1],
      ],
    );
  });

  test('falls back to its own part size when the given one is below the 5 MiB minimum', () => {
    const parts = planCopyParts(6 * GiB, 1 * MiB);
    assert.ok(parts.every((p) => p.last - p.first + 1 >= 5 * MiB || p === parts.at(-1)));
    assert.ok(parts.length < 100);
  });

  test('keeps a 5 TiB object within 10,000 parts of at most 5 GiB', () => {
    const parts = planCopyParts(5 * 1024 * GiB);
    assert.ok(parts.length <= MAX_PARTS);
    assert.ok(parts.every((p) => p.last - p.first + 1 <= 5 * GiB));
  });

  test('refuses a size S3 cannot store', () => {
    assert.throws(() => planCopyParts(5 * 1024 * GiB + 1), RangeError);
  });
});

describe('compareCopy', () => {
  const fp = (size: number, etag: string, checksums = {}, opaqueEtag?: string) => ({
    size,
    etag,
    checksums,
    opaqueEtag,
  });
  test('reports a size difference first', () => {
    assert.deepEqual(compareCopy(fp(3, '"a"'), fp(4, '"a"')), {
      verdict: 'different',
      why: 'size 4 bytes, source 3 bytes',
    });
  });
  test('trusts a full-object checksum both sides report over differing ETags', () => {
    assert.deepEqual(
      compareCopy(fp(3, '"a-2"', { ChecksumCRC64NVME: 'x' }), fp(3, '"b"', { ChecksumCRC64NVME: 'x' })),
      { verdict: 'same', by: 'ChecksumCRC64NVME' },
    );
  });
  test('reports differing full-object checksums', () => {
    assert.deepEqual(compareCopy(fp(3, '"a"', { ChecksumCRC32: 'x' }), fp(3, '"a"', { ChecksumCRC32: 'y' })), {
      verdict: 'different',
      why: 'ChecksumCRC32 y, source x',
    });
  });
  test('falls back to the ETag when no checksum is comparable and the ETags are digests', () => {
    assert.deepEqual(compareCopy(fp(3, '"a"'), fp(3, '"b"')), { verdict: 'different', why: 'ETag "b", source "a"' });
    assert.deepEqual(compareCopy(fp(3, '"a-2"'), fp(3, '"a-2"')), { verdict: 'same', by: 'ETag' });
  });
  test('never compares the ETags of SSE-KMS, DSSE-KMS or SSE-C objects: without a shared checksum it cannot tell', () => {
    for (const sse of ['SSE-KMS', 'DSSE-KMS', 'SSE-C']) {
      const verdict = compareCopy(fp(3, '"a"', {}, sse), fp(3, '"a"', { ChecksumCRC32: 'y' }, sse));
      assert.equal(verdict.verdict, 'unknown', sse);
      assert.match(
        (verdict as { why: string }).why,
        new RegExp(
          `source \\(no checksum\\) and the copy \\(ChecksumCRC32\\) share no full-object checksum, and ${sse} ETags`,
        ),
      );
    }
  });
});

describe('copyObjects between SSE-KMS buckets (ETags that are no digests)', () => {
  /** The test's buckets with SSE-KMS default encryption. */
  async function kmsSetup() {
    const found = await setup({});
    for (const [region, Bucket] of [
      [primary, found.source],
      [replica, found.destReplica],
    ] as const) {
      await found.aws.s3(region).send(
        new PutBucketEncryptionCommand({
          Bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
          },
        }),
      );
    }
    return found;
  }

  test('a multipart copy gets a full-object checksum and is verified by it, not by the ETags', async () => {
    const { aws, source, destReplica, s3 } = await kmsSetup();
    // Uploaded in 5 MiB parts with a FULL_OBJECT CRC32, as S3 keeps a full-object CRC of objects written today.
    const Key = 'out/big.bin';
    await putMultipartObject(aws.s3(primary), source, Key, [5 * MiB, 5 * MiB, 1 * MiB]);
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, keys: [Key] },
      destinations: [{ region: replica, bucket: destReplica }],
    });
    assert.equal(result.copied, 1);
    const head = (bucket: string, region: string) =>
      aws.s3(region).send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' }));
    const [from, to] = [await head(source, primary), await head(destReplica, replica)];
    assert.equal(to.ServerSideEncryption, 'aws:kms');
    assert.notEqual(to.ETag, from.ETag, "S3's KMS ETags differ between copies of the same bytes");
    assert.equal(to.ChecksumCRC32, from.ChecksumCRC32);
    assert.equal(to.ChecksumType, 'FULL_OBJECT');
  });

  test('a CopyObject copy (one part) is verified by its checksum, though its KMS ETag is not the source one', async () => {
    const { aws, source, destPrimary, destReplica, s3 } = await kmsSetup();
    await putObjects(aws, primary, source, { 'out/a.parquet': 'aaa', 'out/b.parquet': 'bbbb' });
    await aws.s3(primary).send(
      new PutBucketEncryptionCommand({
        Bucket: destPrimary,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
        },
      }),
    );
    const input = {
      source: { region: primary, bucket: source, prefix: 'out/' },
      destinations: [
        { region: primary, bucket: destPrimary },
        { region: replica, bucket: destReplica },
      ],
    };
    const result = await run(activityEnv(), s3.copyObjects, input);
    assert.deepEqual([result.copied, result.verifiedKeys], [4, 4]);
    const head = (region: string, Bucket: string) =>
      aws.s3(region).send(new HeadObjectCommand({ Bucket, Key: 'out/b.parquet', ChecksumMode: 'ENABLED' }));
    const from = await head(primary, source);
    for (const [region, bucket] of [
      [primary, destPrimary],
      [replica, destReplica],
    ] as const) {
      const to = await head(region, bucket);
      assert.equal(to.ServerSideEncryption, 'aws:kms');
      assert.notEqual(to.ETag, from.ETag, `${bucket}: S3's KMS ETags differ between copies of the same bytes`);
      assert.equal(to.ChecksumCRC32 ?? to.ChecksumCRC64NVME, from.ChecksumCRC32 ?? from.ChecksumCRC64NVME);
    }
    // A second run finds every copy identical by the same comparison and copies nothing.
    const again = await run(activityEnv(), s3.copyObjects, input);
    assert.deepEqual([again.copied, again.skipped], [0, 4]);
  });

  test('a copy with no checksum to compare fails CopyVerificationFailed saying so, not naming differing ETags', async () => {
    const { aws, source, destReplica, s3 } = await kmsSetup();
    // A client that sends no checksum: the object has none (as objects S3 stored before December 2024).
    const bare = new S3Client({ ...awsClientConfig(primary), requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      await bare.send(new PutObjectCommand({ Bucket: source, Key: 'out/old.parquet', Body: 'old' }));
    } finally {
      bare.destroy();
    }
    const head = await aws
      .s3(primary)
      .send(new HeadObjectCommand({ Bucket: source, Key: 'out/old.parquet', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32 ?? head.ChecksumCRC64NVME, undefined, 'the source must have no checksum');
    const err = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, keys: ['out/old.parquet'] },
        destinations: [{ region: replica, bucket: destReplica }],
      }),
    );
    assert.equal(err.type, 'CopyVerificationFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /cannot be verified: the source \(no checksum\) .* SSE-KMS ETags are no digests/);
    assert.match(err.message, /Give the source objects a checksum/);
  });
});

describe('deleteObjects', () => {
  test('deletes every object under a prefix and leaves the rest', async () => {
    const { aws, source, s3 } = await setup({ 'out/a': '1', 'out/b': '2', 'keep/c': '3' });
    const result = await run(activityEnv(), s3.deleteObjects, { region: primary, bucket: source, prefix: 'out/' });
    assert.deepEqual(result, { deleted: 2 });
    const left = await aws.s3(primary).send(new ListObjectsV2Command({ Bucket: source }));
    assert.deepEqual(
      left.Contents?.map((o) => o.Key),
      ['keep/c'],
    );
  });

  test('with except, deletes what else is under the prefix and keeps the keys named', async () => {
    const { aws, source, s3 } = await setup({ 'out/new-0': '1', 'out/new-1': '2', 'out/old-0': '3', 'other/x': '4' });
    const result = await run(activityEnv(), s3.deleteObjects, {
      region: primary,
      bucket: source,
      prefix: 'out/',
      except: ['out/new-0', 'out/new-1'],
    });
    assert.deepEqual(result, { deleted: 1 });
    const left = await aws.s3(primary).send(new ListObjectsV2Command({ Bucket: source }));
    assert.deepEqual(
      left.Contents?.map((o) => o.Key),
      ['other/x', 'out/new-0', 'out/new-1'],
    );
  });
});

describe('writeCopyManifest', () => {
  test("writes a Redshift COPY manifest of exactly the files, mandatory, with each one's content_length", async () => {
    const { aws, source, s3 } = await setup({
      'out/a.parquet': 'aaa',
      'out/b.parquet': 'bbbb',
      'out/old.parquet': 'x',
    });
    const files = [
      { key: 'out/a.parquet', bytes: 3 },
      { key: 'out/b.parquet', bytes: 4 },
    ];
    const result = await run(activityEnv(), s3.writeCopyManifest, {
      region: primary,
      bucket: source,
      key: 'm/b1.manifest',
      files,
    });
    assert.deepEqual(result, { entries: 2 });
    assert.deepEqual(JSON.parse(await body(aws, primary, source, 'm/b1.manifest')), {
      entries: [
        { url: `s3://${source}/out/a.parquet`, mandatory: true, meta: { content_length: 3 } },
        { url: `s3://${source}/out/b.parquet`, mandatory: true, meta: { content_length: 4 } },
      ],
    });
  });

  test('fails non-retryably with ManifestInvalid, writing nothing, when a file is missing or not the size given', async () => {
    const { aws, source, s3 } = await setup({ 'out/a.parquet': 'aaa' });
    const write = (files: { key: string; bytes: number }[]) =>
      rejection(
        run(activityEnv(), s3.writeCopyManifest, { region: primary, bucket: source, key: 'm.manifest', files }),
      );
    const missing = await write([{ key: 'out/gone.parquet', bytes: 3 }]);
    assert.equal(missing.type, 'ManifestInvalid');
    assert.equal(missing.nonRetryable, true);
    assert.match(missing.message, new RegExp(`s3://${source}/out/gone.parquet .*does not exist`));
    const resized = await write([{ key: 'out/a.parquet', bytes: 99 }]);
    assert.match(resized.message, /is 3 bytes, not the 99 bytes the Glue job's manifest gives/);
    const listed = await aws.s3(primary).send(new ListObjectsV2Command({ Bucket: source, Prefix: 'm.manifest' }));
    assert.equal(listed.KeyCount, 0);
  });
});

describe('readManifest', () => {
  const manifest = {
    batchId: 'b1',
    inputFiles: ['raw/batch_id=b1/x.csv'],
    rowsIn: 3,
    rowsOut: 2,
    rowsRejected: 1,
    outputFiles: [{ key: 'curated/batch_id=b1/part-0.parquet', bytes: 100 }],
    quarantineFiles: [],
  };

  test('returns the manifest the Glue job wrote', async () => {
    const { aws, source, s3 } = await setup({});
    await aws.s3(primary).send(new PutObjectCommand({ Bucket: source, Key: 'm.json', Body: JSON.stringify(manifest) }));
    assert.deepEqual(
      await run(activityEnv(), s3.readManifest, { region: primary, bucket: source, key: 'm.json' }),
      manifest,
    );
  });

  test('fails with ManifestInvalid when the manifest does not exist', async () => {
    const { source, s3 } = await setup({});
    const err = await rejection(
      run(activityEnv(), s3.readManifest, { region: primary, bucket: source, key: 'm.json' }),
    );
    assert.equal(err.type, 'ManifestInvalid');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`s3://${source}/m.json .*does not exist`));
  });

  test('fails with ManifestInvalid naming the field that has the wrong shape', async () => {
    const { aws, source, s3 } = await setup({});
    const bad = { ...manifest, rowsOut: 'two' };
    await aws.s3(primary).send(new PutObjectCommand({ Bucket: source, Key: 'm.json', Body: JSON.stringify(bad) }));
    const err = await rejection(
      run(activityEnv(), s3.readManifest, { region: primary, bucket: source, key: 'm.json' }),
    );
    assert.equal(err.type, 'ManifestInvalid');
    assert.match(err.message, /rowsOut/);
  });
});

describe('uploadFile', () => {
  test('uploads one file to buckets in two regions in parts, reading it once, with equal ETags', async () => {
    const { aws, log } = countingClients();
    const a = await newBucket(aws, primary, 'up');
    const b = await newBucket(aws, replica, 'up');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-')), 'sales.csv');
    fs.writeFileSync(file, Buffer.alloc(12 * MiB, 'x'));
    log.calls.length = 0;
    const result = await uploadFile(
      aws,
      file,
      'raw/sales.csv',
      [
        { region: primary, bucket: a },
        { region: replica, bucket: b },
      ],
      {
        partSizeBytes: 5 * MiB,
      },
    );
    assert.equal(result.bytesRead, 12 * MiB);
    assert.equal(log.count('UploadPart'), 6);
    assert.equal(result.etags[`${primary}/${a}`], result.etags[`${replica}/${b}`]);
    const head = await aws.s3(replica).send(new HeadObjectCommand({ Bucket: b, Key: 'raw/sales.csv' }));
    assert.equal(head.ContentLength, 12 * MiB);
  });
});
