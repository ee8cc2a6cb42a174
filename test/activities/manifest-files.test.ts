/**
 * Activity inputs that name the Glue manifest's output files by the manifest (ManifestFiles) instead of listing
 * every key (issue #14 finding 7: the input stays small however many files the job wrote): readManifestSummary gives
 * the workflow counts, ETag and checksum; copyObjects, deleteObjects' except and writeCopyManifest read the manifest,
 * and refuse one rewritten since the workflow read it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createS3Activities } from '../../src/activities/s3';
import { keysChecksum, manifestFiles } from '../../src/workflow-safe/manifest-files';
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
const MANIFEST_KEY = '_glueline/manifests/sales/b1.json';
const outputFiles = [
  { key: 'curated/batch_id=b1/part-0.parquet', bytes: 3 },
  { key: 'curated/batch_id=b1/part-1.parquet', bytes: 4 },
];

async function setup({ versioned = false } = {}) {
  const { aws, log } = countingClients();
  const name = unique('mf').toLowerCase();
  const source = await newBucket(aws, primary, `${name}-src`);
  const dest = await newBucket(aws, replica, `${name}-dst`);
  if (versioned) {
    await aws
      .s3(primary)
      .send(new PutBucketVersioningCommand({ Bucket: source, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  await putObjects(aws, primary, source, {
    'curated/batch_id=b1/part-0.parquet': 'aaa',
    'curated/batch_id=b1/part-1.parquet': 'bbbb',
    'curated/batch_id=b1/part-9-earlier-run.parquet': 'old',
    [MANIFEST_KEY]: JSON.stringify({
      batchId: 'b1',
      inputFiles: ['raw/batch_id=b1/x.csv'],
      rowsIn: 3,
      rowsOut: 3,
      rowsRejected: 0,
      outputFiles,
      quarantineFiles: [],
    }),
  });
  const ref = manifestFiles({ region: primary, bucket: source, key: MANIFEST_KEY }, { outputFiles });
  return { aws, log, source, dest, ref, s3: createS3Activities(awsDeps(aws)) };
}

const keysIn = async (aws: ReturnType<typeof countingClients>['aws'], region: string, bucket: string) =>
  ((await aws.s3(region).send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);

describe('inputs that name the manifest instead of its keys', () => {
  test('copyObjects copies exactly the files the manifest lists, not what else is under the prefix', async () => {
    const { aws, source, dest, ref, s3 } = await setup();
    const result = await run(activityEnv(), s3.copyObjects, {
      source: { region: primary, bucket: source, manifestFiles: ref },
      destinations: [{ region: replica, bucket: dest }],
    });
    assert.deepEqual(result, { objects: 2, bytes: 7, copied: 2, skipped: 0, verifiedKeys: 2 });
    assert.deepEqual(
      await keysIn(aws, replica, dest),
      outputFiles.map((f) => f.key),
    );
  });

  test("deleteObjects keeps the manifest's files with exceptManifestFiles; writeCopyManifest lists them", async () => {
    const { aws, source, ref, s3 } = await setup();
    const deleted = await run(activityEnv(), s3.deleteObjects, {
      region: primary,
      bucket: source,
      prefix: 'curated/batch_id=b1/',
      exceptManifestFiles: ref,
    });
    assert.deepEqual(deleted, { deleted: 1 });
    assert.deepEqual(await keysIn(aws, primary, source), [MANIFEST_KEY, ...outputFiles.map((f) => f.key)]);
    const written = await run(activityEnv(), s3.writeCopyManifest, {
      region: primary,
      bucket: source,
      key: 'm/b1.manifest',
      manifestFiles: ref,
    });
    assert.deepEqual(written, { entries: 2 });
    const out = await aws.s3(primary).send(new GetObjectCommand({ Bucket: source, Key: 'm/b1.manifest' }));
    const entries = (JSON.parse(await out.Body!.transformToString()) as { entries: { url: string }[] }).entries;
    assert.deepEqual(
      entries.map((e) => e.url),
      outputFiles.map((f) => `s3://${source}/${f.key}`),
    );
  });

  test('a manifest rewritten since the workflow read it is ManifestInvalid, and nothing is copied or deleted', async () => {
    const { aws, log, source, dest, ref, s3 } = await setup();
    const rewritten = { batchId: 'b1', inputFiles: [], rowsIn: 1, rowsOut: 1, rowsRejected: 0, quarantineFiles: [] };
    await aws.s3(primary).send(
      new PutObjectCommand({
        Bucket: source,
        Key: MANIFEST_KEY,
        Body: JSON.stringify({ ...rewritten, outputFiles: [{ key: 'curated/batch_id=b1/part-7.parquet', bytes: 1 }] }),
      }),
    );
    log.calls.length = 0;
    const copy = await rejection(
      run(activityEnv(), s3.copyObjects, {
        source: { region: primary, bucket: source, manifestFiles: ref },
        destinations: [{ region: replica, bucket: dest }],
      }),
    );
    assert.equal(copy.type, 'ManifestInvalid');
    assert.equal(copy.nonRetryable, true);
    assert.match(
      copy.message,
      /lists 1 output files .*, not the 2 .* this run read: another run of the batch rewrote it/,
    );
    const del = await rejection(
      run(activityEnv(), s3.deleteObjects, {
        region: primary,
        bucket: source,
        prefix: 'curated/',
        exceptManifestFiles: ref,
      }),
    );
    assert.equal(del.type, 'ManifestInvalid');
    assert.equal(log.count('CopyObject') + log.count('DeleteObjects'), 0);
  });
});

describe('readManifestSummary, and the activities that read the manifest it names', () => {
  test('gives the counts, and names the output files by the manifest: location, ETag, count and checksum', async () => {
    const { aws, source, s3 } = await setup();
    const where = { region: primary, bucket: source, key: MANIFEST_KEY };
    const head = await aws.s3(primary).send(new HeadObjectCommand({ Bucket: source, Key: MANIFEST_KEY }));
    assert.deepEqual(await run(activityEnv(), s3.readManifestSummary, where), {
      batchId: 'b1',
      rowsIn: 3,
      rowsOut: 3,
      rowsRejected: 0,
      inputFiles: 1,
      quarantineFiles: 0,
      files: { ...where, count: 2, checksum: keysChecksum(outputFiles.map((f) => f.key)), etag: head.ETag },
      outputBytes: 7,
    });
  });

  test('a manifest missing or of another shape is ManifestInvalid naming it', async () => {
    const { aws, source, s3 } = await setup();
    const missing = await rejection(
      run(activityEnv(), s3.readManifestSummary, { region: primary, bucket: source, key: 'nothing.json' }),
    );
    assert.equal(missing.type, 'ManifestInvalid');
    assert.equal(missing.nonRetryable, true);
    assert.match(missing.message, new RegExp(`s3://${source}/nothing.json \\(${primary}\\) does not exist`));
    await aws.s3(primary).send(new PutObjectCommand({ Bucket: source, Key: 'bad.json', Body: '{"rowsIn": -1}' }));
    const bad = await rejection(
      run(activityEnv(), s3.readManifestSummary, { region: primary, bucket: source, key: 'bad.json' }),
    );
    assert.equal(bad.type, 'ManifestInvalid');
    assert.match(bad.message, /bad\.json .*is not of the expected shape: batchId .*; rowsIn /);
  });

  test('a manifest rewritten between the summary and the copy, even listing the same files, fails naming it', async () => {
    const { aws, log, source, dest, s3 } = await setup({ versioned: true });
    const summary = await run(activityEnv(), s3.readManifestSummary, {
      region: primary,
      bucket: source,
      key: MANIFEST_KEY,
    });
    assert.ok(summary.files.etag);
    assert.ok(summary.files.versionId, 'a versioned bucket gives the version read');
    // Another run of the batch: the same files (so count and checksum alone would not tell), other counts.
    await aws.s3(primary).send(
      new PutObjectCommand({
        Bucket: source,
        Key: MANIFEST_KEY,
        Body: JSON.stringify({
          batchId: 'b1',
          inputFiles: [],
          rowsIn: 9,
          rowsOut: 9,
          rowsRejected: 0,
          outputFiles,
          quarantineFiles: [],
        }),
      }),
    );
    log.calls.length = 0;
    const failures = [
      await rejection(
        run(activityEnv(), s3.copyObjects, {
          source: { region: primary, bucket: source, manifestFiles: summary.files },
          destinations: [{ region: replica, bucket: dest }],
        }),
      ),
      await rejection(
        run(activityEnv(), s3.deleteObjects, {
          region: primary,
          bucket: source,
          prefix: 'curated/',
          exceptManifestFiles: summary.files,
        }),
      ),
      await rejection(
        run(activityEnv(), s3.writeCopyManifest, {
          region: primary,
          bucket: source,
          key: 'm/b1.manifest',
          manifestFiles: summary.files,
        }),
      ),
    ];
    for (const failure of failures) {
      assert.equal(failure.type, 'ManifestInvalid');
      assert.equal(failure.nonRetryable, true);
      assert.ok(failure.message.includes(`s3://${source}/${MANIFEST_KEY} (${primary})`), failure.message);
      assert.ok(
        failure.message.includes(
          `is no longer the one this run read (ETag ${summary.files.etag}, version ${summary.files.versionId}): another run of the batch rewrote it`,
        ),
        failure.message,
      );
      assert.match(failure.message, /redrive <workflowId> --from transform/);
    }
    assert.equal(log.count('CopyObject') + log.count('DeleteObjects') + log.count('PutObject'), 0);
    assert.deepEqual(await keysIn(aws, replica, dest), []);
  });
});
