import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { JobRunRequest as JobRun } from '../../devstack/gateway/job-runner';
import { createLocalSparkRunner, lastErrorLine } from '../../devstack/local-spark';
import { repoRoot } from '../../devstack/paths';
import { glueJobArguments, type GlueManifest } from '../../src/workflow-safe/layout';
import { loadSpecFile } from '../../src/starters/spec-file';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { processesWith } from '../../devstack/testkit/processes';
import { stack, unique } from '../../devstack/testkit/stack';

const samples = path.join(repoRoot, 'samples', 'sales');
const job: Job = {
  Name: 'sales-to-parquet',
  Command: { Name: 'glueetl', ScriptLocation: 's3://x/_glueline/scripts/glueline_job.py' },
};

describe('the local Spark job runner', () => {
  let s3: S3Client;
  let spec: PipelineSpec;
  let workRoot: string;

  before(async () => {
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: stack().aws.motoEndpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const base = loadSpecFile(path.join(repoRoot, 'specs', 'local-sales.yaml'));
    const raw = unique('raw');
    const curated = unique('cur');
    spec = { ...base, regions: [{ ...base.regions[0]!, rawBucket: raw, curatedBucket: curated }] };
    for (const bucket of [raw, curated]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-local-spark-'));
  });
  after(() => fs.rmSync(workRoot, { recursive: true, force: true }));

  async function stageSamples(batch: Batch) {
    for (const name of fs.readdirSync(samples).filter((n) => n.endsWith('.csv'))) {
      await s3.send(
        new PutObjectCommand({
          Bucket: batch.source.bucket,
          Key: `raw/batch_id=${batch.id}/${name}`,
          Body: fs.readFileSync(path.join(samples, name)),
        }),
      );
    }
  }

  function runOf(batch: Batch, overrides: Partial<JobRun> = {}): JobRun {
    return {
      jobName: job.Name!,
      jobRunId: unique('jr'),
      region: 'us-east-1',
      arguments: glueJobArguments(spec, batch),
      job,
      signal: new AbortController().signal,
      ...overrides,
    };
  }

  test('turns the sample CSVs into Parquet, a quarantine and a manifest in local S3', async () => {
    const batch: Batch = { id: 'b1', source: { bucket: spec.regions[0]!.rawBucket, prefix: 'raw/batch_id=b1/' } };
    await stageSamples(batch);
    const runner = createLocalSparkRunner({ s3Endpoint: stack().aws.motoEndpoint, workRoot });

    const outcome = await runner(runOf(batch));

    assert.deepEqual(outcome, { state: 'SUCCEEDED' });
    const curated = spec.regions[0]!.curatedBucket;
    const got = await s3.send(new GetObjectCommand({ Bucket: curated, Key: '_glueline/manifests/sales/b1.json' }));
    const manifest = JSON.parse(await got.Body!.transformToString()) as GlueManifest;
    assert.deepEqual([manifest.rowsIn, manifest.rowsOut, manifest.rowsRejected], [330, 324, 6]);
    assert.equal(manifest.inputFiles.length, 3);
    assert.ok(manifest.inputFiles.every((k) => k.startsWith('raw/batch_id=b1/')));
    assert.ok(manifest.outputFiles.length > 0);
    for (const file of manifest.outputFiles) {
      assert.match(file.key, /^sales\/batch_id=b1\/part-.*\.snappy\.parquet$/);
      const object = await s3.send(new GetObjectCommand({ Bucket: curated, Key: file.key }));
      const bytes = await object.Body!.transformToByteArray();
      assert.equal(bytes.length, file.bytes);
      assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'PAR1');
    }
    for (const file of manifest.quarantineFiles) {
      assert.match(file.key, /^quarantine\/batch_id=b1\//);
      const head = await s3.send(new HeadObjectCommand({ Bucket: curated, Key: file.key }));
      assert.equal(head.ContentLength, file.bytes);
    }
  });

  test('reports a Python error by its last line as a FAILED run', async () => {
    const batch: Batch = { id: 'b2', source: { bucket: spec.regions[0]!.rawBucket, prefix: 'raw/batch_id=b2/' } };
    const runner = createLocalSparkRunner({ s3Endpoint: stack().aws.motoEndpoint, workRoot });
    const args = { ...glueJobArguments(spec, batch), '--columns_json': '[{"name":"id","type":"varchar"}]' };

    const outcome = await runner(runOf(batch, { arguments: args }));

    assert.equal(outcome.state, 'FAILED');
    assert.match(outcome.errorMessage ?? '', /^TransformError: --columns_json\[0\]\.type 'varchar' is not supported/);
  });

  test("fails a job whose script is not glueline's without running anything", async () => {
    const batch: Batch = { id: 'b3', source: { bucket: spec.regions[0]!.rawBucket, prefix: 'raw/' } };
    const runner = createLocalSparkRunner({ s3Endpoint: stack().aws.motoEndpoint, workRoot });
    const other: Job = { ...job, Command: { ScriptLocation: 's3://x/other.py' } };

    const outcome = await runner(runOf(batch, { job: other }));

    assert.equal(outcome.state, 'FAILED');
    assert.match(outcome.errorMessage ?? '', /runs only glueline's job script/);
  });

  test("kills the Python process and Spark's JVM when the run is aborted", async () => {
    const batch: Batch = { id: 'b4', source: { bucket: spec.regions[0]!.rawBucket, prefix: 'raw/batch_id=b1/' } };
    const runner = createLocalSparkRunner({ s3Endpoint: stack().aws.motoEndpoint, workRoot });
    const abort = new AbortController();
    const run = runOf(batch, { signal: abort.signal });
    // Both processes carry the run's folder in their environment (SPARK_LOCAL_DIRS).
    const marker = run.jobRunId;

    const running = runner(run);
    const deadline = Date.now() + 60_000;
    while (!processesWith(marker).some((p) => p.java) && Date.now() < deadline) await sleep(200);
    assert.ok(
      processesWith(marker).some((p) => p.java),
      "Spark's JVM started",
    );
    abort.abort();
    const outcome = await running;

    assert.deepEqual(outcome, { state: 'FAILED', errorMessage: 'the job run was stopped' });
    assert.deepEqual(processesWith(marker), []);
  });

  test('finds the marked error line even when Spark logs after it', () => {
    const stderr = 'Traceback...\nglueline-local-error: ValueError: bad\n25/11/26 INFO ShutdownHookManager: done\n';
    assert.equal(lastErrorLine(stderr), 'ValueError: bad');
  });
});
