/**
 * Issue 20: a batch run, re-run with `--rerun`, then (after a failed re-run) redriven from transform, as an
 * operator does it: the `glueline` CLI against a worker process on the test stack, real Spark each time.
 * Spark names its files anew every run, so each run leaves different Parquet behind. After each, every
 * region's table holds exactly the manifest's rowsOut rows of the batch, and every replica's batch prefix
 * lists exactly the manifest's files: nothing an earlier run wrote is loaded again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  curatedBatchPrefix,
  manifestKey,
  primaryRegion,
  replicaRegions,
  type GlueManifest,
} from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { glueline, queryRows, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { provisionedSpecFile, putSampleCsvs } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

/** One Spark run; Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;

async function readGlueManifest(spec: PipelineSpec, batch: Batch): Promise<GlueManifest> {
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region));
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: primary.curatedBucket, Key: manifestKey(spec, batch) }),
    );
    return JSON.parse(await object.Body!.transformToString()) as GlueManifest;
  } finally {
    s3.destroy();
  }
}

async function listPrefix(region: string, bucket: string, prefix: string): Promise<string[]> {
  const s3 = new S3Client(awsClientConfig(region));
  const keys: string[] = [];
  try {
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
  } finally {
    s3.destroy();
  }
  return keys.sort();
}

describe('a re-run or redrive of a batch loads exactly the manifest in every region (issue 20)', () => {
  let spec: PipelineSpec;
  let specFile: string;
  let workDir: string;
  let cli: CliWorker | undefined;
  const taskQueue = unique('rerun');
  let batch: Batch;
  const landing = 'landing/rerun-1/';
  const run = (...args: string[]) =>
    glueline('run', '--spec', specFile, '--batch-id', batch.id, '--prefix', landing, '--wait', ...args);

  /**
   * Asserts that the regions hold what the manifest says, all in one comparison so a failure shows the whole
   * picture: each region's row count of the batch, and each replica's listing of the batch prefix.
   */
  async function assertRegionsHoldTheManifest(): Promise<void> {
    const manifest = await readGlueManifest(spec, batch);
    const actual: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const region of spec.regions) {
      const counted = await glueline(
        'query',
        '--spec',
        specFile,
        '--region',
        region.region,
        '--sql',
        `select count(*) as n from sales where batch_id = '${batch.id}'`,
      );
      assert.equal(counted.code, 0, counted.stderr);
      actual[`${region.region} rows`] = Number(queryRows(counted.stdout)[0]?.[0]);
      expected[`${region.region} rows`] = manifest.rowsOut;
    }
    for (const replica of replicaRegions(spec)) {
      const prefix = curatedBatchPrefix(spec, batch);
      actual[`${replica.region} files`] = await listPrefix(replica.region, replica.curatedBucket, prefix);
      expected[`${replica.region} files`] = manifest.outputFiles.map((f) => f.key).sort();
    }
    assert.deepEqual(actual, expected);
  }

  before(
    async () => {
      ({ spec, workDir, specFile } = await provisionedSpecFile('rerun'));
      batch = { id: 'rerun-1', source: { bucket: primaryRegion(spec).rawBucket, prefix: landing } };
      await putSampleCsvs(spec, landing);
      cli = await startCliWorker(taskQueue);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await cli?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test("a first run loads the manifest's rows in every region", { timeout: RUN_TIMEOUT_MS }, async () => {
    const first = await run();
    assert.equal(first.code, 0, first.stdout);
    await assertRegionsHoldTheManifest();
  });

  test(
    "a re-run with --rerun (new Parquet file names) still leaves exactly the manifest's rows and files",
    { timeout: RUN_TIMEOUT_MS },
    async () => {
      const before = await readGlueManifest(spec, batch);
      const again = await run('--rerun');
      assert.equal(again.code, 0, again.stdout);
      const after = await readGlueManifest(spec, batch);
      // The point of the test: Spark wrote files under new names, so the old ones are stale.
      assert.notDeepEqual(
        after.outputFiles.map((f) => f.key),
        before.outputFiles.map((f) => f.key),
      );
      await assertRegionsHoldTheManifest();
    },
  );

  test(
    "a re-run that fails at transform, redriven from transform, leaves exactly the manifest's rows and files",
    { timeout: RUN_TIMEOUT_MS },
    async () => {
      await new GatewayControl().scriptJobRuns(spec.transform.jobName, [
        { state: 'FAILED', errorMessage: 'scripted by rerun-loads-once.test.ts' },
      ]);
      const failed = await run('--rerun');
      assert.equal(failed.code, 1, failed.stdout);
      const redriven = await glueline('redrive', pipelineWorkflowId(spec, batch), '--from', 'transform', '--wait');
      assert.equal(redriven.code, 0, redriven.stdout);
      await assertRegionsHoldTheManifest();
    },
  );
});
