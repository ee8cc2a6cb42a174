/**
 * Issue 5's "Done when", end to end on the test stack: provision the sample spec, start glueline's job
 * through the gateway with @aws-sdk/client-glue, get real Parquet in local S3, and load it with the
 * spec's own Redshift SQL through @aws-sdk/client-redshift-data (from the COPY manifest replicate-curated
 * would write). One successful Spark run for the file.
 */
import assert from 'node:assert/strict';
import { before, after, describe, test } from 'node:test';
import {
  BatchStopJobRunCommand,
  GetJobRunCommand,
  GlueClient,
  StartJobRunCommand,
  type JobRun,
} from '@aws-sdk/client-glue';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  type DescribeStatementResponse,
} from '@aws-sdk/client-redshift-data';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  copyManifestKey,
  curatedBatchPrefix,
  glueJobArguments,
  manifestKey,
  primaryRegion,
  rawBatchPrefix,
  redshiftCopyManifest,
  renderSql,
  type GlueManifest,
} from '../../src/workflow-safe/layout';
import type { PipelineSpec, RegionSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { processesWith } from '../../devstack/testkit/processes';
import { provisionQuietly, putSampleCsvs, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig } from '../../devstack/testkit/stack';

/** Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const SPARK_TIMEOUT_MS = 300_000;

describe("glueline's job through the gateway, after npm run provision", () => {
  let spec: PipelineSpec;
  let primary: RegionSpec;
  let glue: GlueClient;
  let s3: S3Client;
  let redshift: RedshiftDataClient;
  const batch = (id: string): Batch => ({
    id,
    source: { bucket: primary.rawBucket, prefix: rawBatchPrefix(spec, { id } as Batch) },
  });

  before(async () => {
    spec = uniqueSalesSpec();
    primary = primaryRegion(spec);
    glue = new GlueClient(awsClientConfig(primary.region));
    s3 = new S3Client(awsClientConfig(primary.region));
    redshift = new RedshiftDataClient(awsClientConfig(primary.region));
    await provisionQuietly(spec);
  });
  after(() => (glue.destroy(), s3.destroy(), redshift.destroy()));

  async function startJobRun(b: Batch, overrides: Record<string, string> = {}): Promise<string> {
    const { JobRunId } = await glue.send(
      new StartJobRunCommand({
        JobName: spec.transform.jobName,
        Arguments: { ...glueJobArguments(spec, b), ...overrides },
      }),
    );
    return JobRunId!;
  }

  async function jobRunEnded(RunId: string): Promise<JobRun> {
    return pollUntil(
      async () => (await glue.send(new GetJobRunCommand({ JobName: spec.transform.jobName, RunId }))).JobRun!,
      (run) => !['STARTING', 'RUNNING', 'STOPPING', 'WAITING'].includes(run.JobRunState!),
      { timeoutMs: SPARK_TIMEOUT_MS, intervalMs: 500 },
    );
  }

  async function getText(Key: string): Promise<string> {
    const object = await s3.send(new GetObjectCommand({ Bucket: primary.curatedBucket, Key }));
    return object.Body!.transformToString();
  }

  test('a run with an argument the script refuses ends FAILED with the Python error as ErrorMessage', async () => {
    const b = batch('bad-argument');

    const run = await jobRunEnded(await startJobRun(b, { '--delimiter': ';;' }));

    assert.equal(run.JobRunState, 'FAILED');
    assert.equal(run.ErrorMessage, "TransformError: --delimiter ';;' must be exactly one character");
  });

  test("a second live run of a batch fails before it touches the first run's output and manifest", async () => {
    const b = batch('held');
    const outputKey = `${curatedBatchPrefix(spec, b)}part-00000-first.snappy.parquet`;
    await s3.send(new PutObjectCommand({ Bucket: primary.curatedBucket, Key: outputKey, Body: 'first run output' }));
    await s3.send(new PutObjectCommand({ Bucket: primary.curatedBucket, Key: manifestKey(spec, b), Body: 'first' }));
    // The first run stays RUNNING (scripted) until it is stopped: a live run of the batch, as a duplicate start leaves.
    await new GatewayControl().scriptJobRuns(spec.transform.jobName, [{ state: 'RUNNING' }]);
    const first = await startJobRun(b);
    try {
      const second = await jobRunEnded(await startJobRun(b));

      assert.equal(second.JobRunState, 'FAILED');
      assert.match(
        second.ErrorMessage ?? '',
        new RegExp(`^TransformError: job run ${first} of batch held is still RUNNING .* this run ${second.Id} stops`),
      );
      assert.equal(await getText(outputKey), 'first run output');
      assert.equal(await getText(manifestKey(spec, b)), 'first');
    } finally {
      await glue.send(new BatchStopJobRunCommand({ JobName: spec.transform.jobName, JobRunIds: [first] }));
    }
    // Once the first run has ended, a run of the batch goes ahead and replaces the output.
    await pollUntil(
      async () => (await glue.send(new GetJobRunCommand({ JobName: spec.transform.jobName, RunId: first }))).JobRun!,
      (run) => run.JobRunState === 'STOPPED',
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await putSampleCsvs(spec, rawBatchPrefix(spec, b), 1);
    const third = await jobRunEnded(await startJobRun(b));
    assert.equal(third.JobRunState, 'SUCCEEDED', third.ErrorMessage);
    assert.equal((JSON.parse(await getText(manifestKey(spec, b))) as GlueManifest).batchId, 'held');
  });

  test("BatchStopJobRun ends a running Spark run STOPPED and kills Spark's processes", async () => {
    const b = batch('stopped');
    await putSampleCsvs(spec, rawBatchPrefix(spec, b));
    const runId = await startJobRun(b);
    await pollUntil(
      async () => processesWith(runId),
      (processes) => processes.some((p) => p.java),
      { timeoutMs: SPARK_TIMEOUT_MS, intervalMs: 200 },
    );

    const stop = await glue.send(new BatchStopJobRunCommand({ JobName: spec.transform.jobName, JobRunIds: [runId] }));
    const run = await jobRunEnded(runId);

    assert.deepEqual(stop.Errors, []);
    assert.equal(run.JobRunState, 'STOPPED');
    assert.deepEqual(processesWith(runId), []);
  });

  describe('a run of the sample batch', () => {
    const sample = () => batch('sales-1');
    let run: JobRun;
    let manifest: GlueManifest;

    before(async () => {
      await putSampleCsvs(spec, rawBatchPrefix(spec, sample()));
      run = await jobRunEnded(await startJobRun(sample()));
      if (run.JobRunState === 'SUCCEEDED') {
        manifest = JSON.parse(await getText(manifestKey(spec, sample()))) as GlueManifest;
        // What replicate-curated writes for the refresh's ${copy_manifest_uri}.
        await s3.send(
          new PutObjectCommand({
            Bucket: primary.curatedBucket,
            Key: copyManifestKey(spec, sample()),
            Body: JSON.stringify(redshiftCopyManifest(primary.curatedBucket, manifest.outputFiles)),
          }),
        );
      }
    });

    /** Runs the spec's refresh SQL for the primary region as one batch, and waits for it. */
    async function refresh(): Promise<DescribeStatementResponse> {
      const { Id } = await redshift.send(
        new BatchExecuteStatementCommand({
          WorkgroupName: primary.redshift!.workgroupName,
          Database: primary.redshift!.database,
          Sqls: renderSql(spec, sample(), primary.region),
        }),
      );
      return finished(Id!);
    }

    async function finished(Id: string): Promise<DescribeStatementResponse> {
      return pollUntil(
        () => redshift.send(new DescribeStatementCommand({ Id })),
        (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    }

    /** The one row of a query, as strings (longs as numbers). */
    async function row(Sql: string): Promise<unknown[]> {
      const { Id } = await redshift.send(
        new ExecuteStatementCommand({
          WorkgroupName: primary.redshift!.workgroupName,
          Database: primary.redshift!.database,
          Sql,
        }),
      );
      const done = await finished(Id!);
      assert.equal(done.Status, 'FINISHED', done.Error);
      const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
      assert.equal(Records?.length, 1, `${Sql} returned ${Records?.length} rows`);
      return Records![0]!.map((f) =>
        f.isNull ? null : (f.longValue ?? f.stringValue ?? f.doubleValue ?? f.booleanValue),
      );
    }

    test('ends SUCCEEDED', () => {
      assert.equal(run.JobRunState, 'SUCCEEDED', run.ErrorMessage);
    });

    test("writes a manifest whose counts add up, with the sample's 6 bad rows quarantined with a reason", async () => {
      assert.deepEqual([manifest.rowsIn, manifest.rowsOut, manifest.rowsRejected], [330, 324, 6]);
      const rejected = [];
      for (const file of manifest.quarantineFiles) {
        for (const line of (await getText(file.key)).split('\n').filter((l) => l !== '')) {
          rejected.push(JSON.parse(line) as { reason?: string });
        }
      }
      assert.equal(rejected.length, manifest.rowsRejected);
      assert.ok(rejected.every((r) => typeof r.reason === 'string' && r.reason !== ''));
    });

    test("puts real Parquet under the batch's curated prefix, holding the manifest's rowsOut rows", async () => {
      const { parquetMetadata } = await import('hyparquet');
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: primary.curatedBucket, Prefix: curatedBatchPrefix(spec, sample()) }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
      assert.deepEqual(keys, manifest.outputFiles.map((f) => f.key).sort());
      assert.ok(keys.length > 0);
      let rows = 0;
      for (const Key of keys) {
        const object = await s3.send(new GetObjectCommand({ Bucket: primary.curatedBucket, Key }));
        const bytes = await object.Body!.transformToByteArray();
        rows += Number(
          parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
            .num_rows,
        );
      }
      assert.equal(rows, manifest.rowsOut);
    });

    test("the spec's Redshift SQL loads the manifest's rowsOut rows, values intact", async () => {
      const done = await refresh();

      assert.equal(done.Status, 'FINISHED', done.Error);
      assert.deepEqual(await row(`select count(*) from sales where batch_id = 'sales-1'`), [manifest.rowsOut]);
      assert.deepEqual(
        await row(`select store, product, quantity, unit_price, is_online, sold_at from sales where sale_id = 1001`),
        ['berlin-01', 'Espresso beans, 1kg', 4, '10.46', true, '2026-03-01 16:27:02'],
      );
    });

    test('running the refresh again leaves the same rows', async () => {
      const first = await refresh();
      const once = await row(`select count(*) from sales`);
      const second = await refresh();
      const twice = await row(`select count(*) from sales`);

      assert.deepEqual([first.Status, second.Status], ['FINISHED', 'FINISHED'], first.Error ?? second.Error);
      assert.deepEqual([once, twice], [[manifest.rowsOut], [manifest.rowsOut]]);
    });
  });
});
