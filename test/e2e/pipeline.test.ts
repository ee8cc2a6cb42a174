/**
 * Issue 6's end-to-end test: real activities against the test stack. The worker runs as its own process,
 * the run is started with `temporal workflow start --type csvPipeline --task-queue glueline --input-file`,
 * and followed to completion. The Parquet is then in both regions' curated buckets, verified, and each
 * region's Redshift table holds the manifest's row count. One real Spark run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { repoRoot } from '../../devstack/paths';
import { manifestKey, primaryRegion, type GlueManifest } from '../../src/workflow-safe/layout';
import { DEFAULT_TASK_QUEUE, pipelineWorkflowId, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionQuietly, putSampleCsvs, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig } from '../../devstack/testkit/stack';
import { startStackWorker, temporalWorkflowStart, type StackWorker } from '../../devstack/testkit/worker-process';

const samples = path.join(repoRoot, 'samples', 'sales');
/** Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;

describe('csvPipeline end to end: worker process, temporal CLI, real activities on the test stack', () => {
  let spec: PipelineSpec;
  let batch: Batch;
  let stackWorker: StackWorker | undefined;
  let result: PipelineResult;
  let manifest: GlueManifest;

  before(
    async () => {
      spec = uniqueSalesSpec();
      const primary = primaryRegion(spec);
      await provisionQuietly(spec);
      batch = { id: 'e2e-1', source: { bucket: primary.rawBucket, prefix: 'landing/e2e-1/' } };
      await putSampleCsvs(spec, 'landing/e2e-1/');

      stackWorker = await startStackWorker(DEFAULT_TASK_QUEUE);

      const workflowId = pipelineWorkflowId(spec, batch);
      temporalWorkflowStart({ type: 'csvPipeline', taskQueue: DEFAULT_TASK_QUEUE, workflowId, input: { spec, batch } });

      result = (await stackWorker.client.workflow.getHandle(workflowId).result()) as PipelineResult;

      const s3Primary = new S3Client(awsClientConfig(primary.region));
      const object = await s3Primary.send(
        new GetObjectCommand({ Bucket: primary.curatedBucket, Key: manifestKey(spec, batch) }),
      );
      manifest = JSON.parse(await object.Body!.transformToString()) as GlueManifest;
      s3Primary.destroy();
    },
    { timeout: RUN_TIMEOUT_MS },
  );

  after(async () => {
    await stackWorker?.stop();
  });

  test('the run succeeds with every step succeeded', () => {
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      result.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.step}: ${s.status}`),
      [],
    );
    assert.match(result.steps.find((s) => s.step === 'transform')!.awsIds.jobRunId ?? '', /\S/);
  });

  test("the result's totals are the manifest's counts", () => {
    assert.deepEqual(
      [result.totals.rowsIn, result.totals.rowsOut, result.totals.rowsRejected],
      [manifest.rowsIn, manifest.rowsOut, manifest.rowsRejected],
    );
    assert.equal(result.totals.rawObjects, fs.readdirSync(samples).filter((n) => n.endsWith('.csv')).length);
  });

  test("every region's curated bucket holds every Parquet file of the manifest, same size, and the manifest", async () => {
    for (const region of spec.regions) {
      const s3 = new S3Client(awsClientConfig(region.region));
      for (const file of manifest.outputFiles) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: region.curatedBucket, Key: file.key }));
        assert.equal(head.ContentLength, file.bytes, `${region.region} ${file.key}`);
      }
      await s3.send(new HeadObjectCommand({ Bucket: region.curatedBucket, Key: manifestKey(spec, batch) }));
      s3.destroy();
    }
  });

  test("every region's Redshift table holds the manifest's rowsOut rows of the batch", async () => {
    for (const region of spec.regions) {
      const redshift = new RedshiftDataClient(awsClientConfig(region.region));
      const { Id } = await redshift.send(
        new ExecuteStatementCommand({
          WorkgroupName: region.redshift!.workgroupName,
          Database: region.redshift!.database,
          Sql: `select count(*) from sales where batch_id = '${batch.id}'`,
        }),
      );
      const done = await pollUntil(
        () => redshift.send(new DescribeStatementCommand({ Id })),
        (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.equal(done.Status, 'FINISHED', done.Error);
      const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
      assert.equal(Records?.[0]?.[0]?.longValue, manifest.rowsOut, region.region);
      redshift.destroy();
    }
  });
});
