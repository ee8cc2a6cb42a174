/**
 * Issue 18's guards end to end, on the local stack with a worker process and real SMTP:
 * - reconciliation: rows removed from one region's target between its refresh and its count fail that region
 *   with both numbers, and send one failure email (a scripted Glue run; the refresh is held at the gateway while
 *   the test deletes a row);
 * - thresholds: a batch with 30% bad rows (real Spark rejects them) against `maxRejectedRatio: 0.1` fails at
 *   transform under `fail`, and under `warn` completes, with one warning email, and the default reconciliation
 *   (from the sample spec's batch delete) finds the good rows in both regions;
 * - health: `health --json` lists the three batches with their figures, beside a freshness watch's state.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DescribeStatementCommand,
  RedshiftDataClient,
  type DescribeStatementCommandOutput,
} from '@aws-sdk/client-redshift-data';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { runStatement } from '../../src/aws/redshift-data';
import { FailureType } from '../../src/workflow-safe/failures';
import { primaryRegion, replicaRegions } from '../../src/workflow-safe/layout';
import { PROGRESS_QUERY, type PipelineProgress, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { FreshnessState } from '../../src/workflow-safe/freshness';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { SinkMessage } from '../../devstack/mail-sink';
import { GatewayControl } from '../../devstack/testkit/gateway';
import type { BatchHealth } from '../../src/starters/health';
import { formatProgressLines, formatSummary } from '../../src/starters/progress-view';
import { glueline, useCliEnv } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { landBatch } from '../../devstack/testkit/scripted-pipeline';
import { provisionQuietly, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';
import { startStackWorker, type StackWorker } from '../../devstack/testkit/worker-process';

/** One Spark run; Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;

/** Runs one statement on a region's target and waits for it to end (glueline's own runStatement). */
async function runSql(spec: PipelineSpec, region: string, sql: string): Promise<void> {
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const redshift = new RedshiftDataClient(awsClientConfig(region));
  try {
    await runStatement(redshift, { region, target, sqls: [sql] });
  } finally {
    redshift.destroy();
  }
}

async function waitForStatement(redshift: RedshiftDataClient, id: string): Promise<DescribeStatementCommandOutput> {
  const done = await pollUntil(
    () => redshift.send(new DescribeStatementCommand({ Id: id })),
    (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  assert.equal(done.Status, 'FINISHED', done.Error);
  return done;
}

/** The emails the sink holds about `batch`. */
async function emailsOf(batch: Batch): Promise<SinkMessage[]> {
  const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
  return inbox.filter((m) => m.subject.includes(`batch ${batch.id} `));
}

/** What a run ended with: its result or its failure, and its last progress. */
async function runToEnd(
  client: Client,
  taskQueue: string,
  spec: PipelineSpec,
  batch: Batch,
  during?: () => Promise<void>,
) {
  const handle = await client.workflow.start('csvPipeline', {
    taskQueue,
    workflowId: unique(`guards-${batch.id}`),
    args: [{ spec, batch }],
  });
  await during?.();
  const ended = await handle.result().then(
    (result: PipelineResult) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
  // The "current details" line the Temporal UI shows.
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return { ...ended, progress, details: metadata.currentDetails ?? '' };
}

const failureOf = (error: unknown): ApplicationFailure => {
  assert.ok(error instanceof WorkflowFailedError, String(error));
  assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
  return error.cause;
};

describe('guards end to end: reconciliation and thresholds on the test stack (issue 18)', () => {
  const taskQueue = unique('guards');
  let base: PipelineSpec;
  let stackWorker: StackWorker | undefined;
  let client: Client;
  /** Each test's batch, by what it tested, for the health command's test. */
  const batches: Record<string, string> = {};

  before(
    async () => {
      base = uniqueSalesSpec();
      await provisionQuietly(base);
      stackWorker = await startStackWorker(taskQueue);
      client = stackWorker.client;
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await new GatewayControl().releaseAll();
    await stackWorker?.stop();
  });

  test(
    "rows removed from one region's target during the run fail that region with both counts, notified once",
    { timeout: RUN_TIMEOUT_MS },
    async () => {
      const gateway = new GatewayControl();
      const primary = primaryRegion(base);
      const replica = replicaRegions(base)[0]!.region;
      // A refresh that writes rowsOut (2) rows of the batch; the default reconciliation counts them by batch_id.
      const spec: PipelineSpec = {
        ...base,
        redshift: {
          sql: [
            'create table if not exists guard_rows (batch_id varchar(63), n int)',
            "delete from guard_rows where batch_id = '${batch_id}'",
            "insert into guard_rows values ('${batch_id}', 1), ('${batch_id}', 2)",
          ],
        },
      };
      // One CSV, and what the scripted Glue job stands for: one output file and a manifest of 2 rows out.
      const batch = await landBatch(spec, unique('recon'));
      batches.recon = batch.id;
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED' }]);
      const workgroup = primary.redshift!.workgroupName!;
      // Both regions' workgroups have one name: the hold names the region too.
      await gateway.addFault({
        target: 'redshift-data:BatchExecuteStatement',
        resource: workgroup,
        region: replica,
        action: { type: 'hold' },
        count: 1,
      });
      const { error, progress, details } = await runToEnd(client, taskQueue, spec, batch, async () => {
        const held = await gateway.waitForHold(
          (h) => h.operation === 'BatchExecuteStatement' && h.region === replica && h.resource === workgroup,
          300_000,
        );
        // The refresh took effect; its caller waits. Let it commit, remove a row, then let the run see it.
        const redshift = new RedshiftDataClient(awsClientConfig(replica));
        await waitForStatement(redshift, (held.response as { Id: string }).Id);
        redshift.destroy();
        await runSql(spec, replica, `delete from guard_rows where batch_id = '${batch.id}' and n = 2`);
        await gateway.release(held.id);
      });
      const failure = failureOf(error);
      const sql = `select count(*) from guard_rows where batch_id = '${batch.id}'`;
      assert.equal(failure.type, FailureType.ReconciliationMismatch);
      assert.match(failure.message, new RegExp(`redshift in ${replica} holds 1 row\\(s\\) .* says rowsOut 2`));
      assert.ok(failure.message.includes(sql), failure.message);
      const steps = Object.fromEntries(progress.steps.map((s) => [s.step, s]));
      assert.deepEqual(
        [steps[`redshift-refresh@${primary.region}`]!.status, steps[`redshift-refresh@${replica}`]!.status],
        ['succeeded', 'failed'],
      );
      const { statementId, ...reconciliation } = steps[`redshift-refresh@${replica}`]!.reconciliation!;
      assert.deepEqual(reconciliation, { expectedRows: 2, actualRows: 1, matched: false, sql });
      assert.match(statementId, /\S/);
      assert.equal(steps[`redshift-refresh@${primary.region}`]!.reconciliation?.actualRows, 2);
      // Shown in the progress lines (live view) and in the UI's details line.
      const lines = formatProgressLines(progress);
      const lineOf = (step: string) => lines.find((l) => l.trimStart().startsWith(step)) ?? lines.join('\n');
      assert.match(lineOf(`redshift-refresh@${primary.region}`), /reconciled 2 of 2 rows/);
      // A failed step's line is its error, which holds both counts.
      assert.match(
        lineOf(`redshift-refresh@${replica}`),
        new RegExp(
          `failed .* ReconciliationMismatch: after the refresh, redshift in ${replica} holds 1 row\\(s\\) .* rowsOut 2`,
        ),
      );
      assert.ok(details.includes(`Reconciled: ${primary.region} 2 rows, ${replica} **MISMATCH** 1 of 2.`), details);
      const emails = await emailsOf(batch);
      assert.deepEqual(
        emails.map((m) => m.subject),
        [`[glueline] ${spec.name} batch ${batch.id} failed at redshift-refresh@${replica}`],
      );
      assert.match(emails[0]!.text, /Error type: ReconciliationMismatch/);
    },
  );

  describe('a batch with 30% bad rows against maxRejectedRatio 0.1 (real Spark)', () => {
    const withRatio = (action: 'fail' | 'warn'): PipelineSpec => ({
      ...base,
      thresholds: { maxRejectedRatio: { value: 0.1, action } },
    });

    test(
      'under fail, the run fails at transform naming the limit, with one failure email',
      { timeout: RUN_TIMEOUT_MS },
      async () => {
        const spec = withRatio('fail');
        const batch = await landBadRows(spec, unique('ratio-fail'));
        batches.fail = batch.id;
        const { error, progress } = await runToEnd(client, taskQueue, spec, batch);
        const failure = failureOf(error);
        assert.equal(failure.type, FailureType.ThresholdExceeded);
        assert.match(
          failure.message,
          /maxRejectedRatio: 0\.3 of the batch's rows were rejected \(3 of 10\), over the limit of 0\.1/,
        );
        assert.equal(progress.steps.find((s) => s.step === 'transform')?.status, 'failed');
        const emails = await emailsOf(batch);
        assert.deepEqual(
          emails.map((m) => m.subject),
          [`[glueline] ${spec.name} batch ${batch.id} failed at transform`],
        );
      },
    );

    test(
      'under warn, the run completes with one warning email, and both regions reconcile',
      { timeout: RUN_TIMEOUT_MS },
      async () => {
        const spec = withRatio('warn');
        const batch = await landBadRows(spec, unique('ratio-warn'));
        batches.warn = batch.id;
        const { result, error } = await runToEnd(client, taskQueue, spec, batch);
        assert.equal(error, undefined, String(error));
        assert.equal(result!.status, 'succeeded');
        assert.deepEqual(
          result!.warnings?.map((w) => [w.step, w.limit, w.value, w.threshold]),
          [['transform', 'maxRejectedRatio', 0.3, 0.1]],
        );
        const emails = await emailsOf(batch);
        assert.deepEqual(
          emails.map((m) => [m.subject, m.headers['x-glueline-kind']]),
          [[`[glueline] warning: ${spec.name} batch ${batch.id} crossed a limit at transform`, 'warning']],
        );
        assert.match(emails[0]!.text, /maxRejectedRatio: 0\.3 of the batch's rows were rejected/);
        // The closing summary names each region's count.
        const summary = formatSummary(result!);
        for (const r of spec.regions)
          assert.ok(
            summary.some((l) => l.startsWith(`reconciled: ${r.region}: reconciled 7 of 7 rows (select count(*) from `)),
            summary.join('\n'),
          );
        assert.deepEqual(
          result!.steps
            .filter((s) => s.name === 'redshift-refresh')
            .map((s) => [s.region, s.reconciliation?.actualRows, s.reconciliation?.matched]),
          spec.regions.map((r) => [r.region, 7, true]),
        );
      },
    );
  });

  test(
    "the health command's JSON lists the three batches with their figures, and the freshness watch's state",
    { timeout: 300_000 },
    async () => {
      await assertHealth(client, base, taskQueue, batches);
    },
  );
});

/**
 * The three batches in the health command's JSON, with their figures, beside the state of a freshness watch of the
 * pipeline (a 10-second window, set up with `glueline freshness` and stopped again), once it judged a window.
 */
async function assertHealth(
  client: Client,
  spec: PipelineSpec,
  taskQueue: string,
  batches: Record<string, string>,
): Promise<void> {
  const restoreEnv = useCliEnv(taskQueue);
  const specFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-guards-')), 'spec.json');
  try {
    fs.writeFileSync(specFile, JSON.stringify({ ...spec, freshness: { every: '10s' } }));
    const watch = await glueline('freshness', '--spec', specFile);
    assert.equal(watch.code, 0, watch.stderr);
    // Visibility is eventually consistent: the last run may take a moment to be listed.
    const doc = await pollUntil(
      async () => {
        const health = await glueline('health', '--pipeline', spec.name, '--limit', '200', '--json');
        assert.notEqual(health.code, 2, health.stderr);
        return JSON.parse(health.stdout) as { pipeline: string; freshness: FreshnessState; batches: BatchHealth[] };
      },
      (d) =>
        d.freshness?.lastDeadline !== undefined &&
        Object.values(batches).every((id) => d.batches.some((b) => b.batchId === id)),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    assert.equal(doc.pipeline, spec.name);
    // The newest completed batch is the warned one: the other two failed.
    assert.equal(doc.freshness.rule, 'every 10s');
    assert.equal(doc.freshness.lastGood?.batchId, batches.warn);
    const listed = doc.batches;
    // Each batch's duration is its run's, from start to close.
    for (const id of Object.values(batches)) {
      const b = listed.find((x) => x.batchId === id)!;
      const run = await client.workflow.getHandle(b.workflowId, b.runId).describe();
      assert.equal(b.durationMs, run.closeTime!.getTime() - run.startTime.getTime(), id);
    }
    const figures = (id: string) => {
      const b = listed.find((x) => x.batchId === id)!;
      return {
        status: b.status,
        rows: [b.rowsIn, b.rowsOut, b.rowsRejected, b.rejectedRatio],
        reconciliation: b.reconciliation.map((r) => [r.region, r.actualRows, r.expectedRows, r.matched]),
        warnings: b.warnings.map((w) => w.limit),
        failedStep: b.failedStep && [b.failedStep.step, b.failedStep.type],
      };
    };
    const [primary, replica] = ['us-east-1', 'eu-west-1'];
    assert.deepEqual(Object.fromEntries(Object.entries(batches).map(([what, id]) => [what, figures(id)])), {
      recon: {
        status: 'failed',
        rows: [2, 2, 0, 0],
        reconciliation: [
          [primary, 2, 2, true],
          [replica, 1, 2, false],
        ],
        warnings: [],
        failedStep: [`redshift-refresh@${replica}`, FailureType.ReconciliationMismatch],
      },
      fail: {
        status: 'failed',
        rows: [10, 7, 3, 0.3],
        reconciliation: [],
        warnings: [],
        failedStep: ['transform', FailureType.ThresholdExceeded],
      },
      warn: {
        status: 'succeeded',
        rows: [10, 7, 3, 0.3],
        reconciliation: [
          [primary, 7, 7, true],
          [replica, 7, 7, true],
        ],
        warnings: ['maxRejectedRatio'],
        failedStep: undefined,
      },
    });
  } finally {
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const stopped = await glueline('freshness', '--spec', specFile);
    restoreEnv();
    fs.rmSync(path.dirname(specFile), { recursive: true, force: true });
    assert.match(stopped.stdout, /stopped the freshness watch/, stopped.stderr);
  }
}

/** One CSV of ten sales, three of them with a quantity that is not an int: 30% of the rows are bad. */
async function landBadRows(spec: PipelineSpec, id: string): Promise<Batch> {
  const rows = Array.from({ length: 10 }, (_, i) => {
    const quantity = i % 3 === 0 && i > 0 ? 'lots' : String(i + 1);
    return `${5000 + i},2026-03-04,paris-04,Oat milk,${quantity},7.49,,true,2026-03-04 09:00:00`;
  });
  const csv = ['sale_id,sale_date,store,product,quantity,unit_price,discount,is_online,sold_at', ...rows, ''].join(
    '\n',
  );
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region));
  try {
    await s3.send(new PutObjectCommand({ Bucket: primary.rawBucket, Key: `landing/${id}/sales.csv`, Body: csv }));
  } finally {
    s3.destroy();
  }
  return { id, source: { bucket: primary.rawBucket, prefix: `landing/${id}/` } };
}
