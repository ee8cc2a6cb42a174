import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CopyObjectsInput } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import { keysChecksum } from '../../src/workflow-safe/manifest-files';
import { csvPipelineStartOptions } from '../../src/starters/start-options';
import {
  pipelineWorkflowId,
  OUTCOME_MEMO_KEY,
  SearchAttributeKeys,
  type PipelineProgress,
  type PipelineResult,
} from '../../src/workflow-safe/pipeline';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { type PipelineInputRaw } from '../../src/workflow-safe/run-input';
import {
  controllableGlueWait,
  fakeActivities,
  MANIFEST,
  PRIMARY,
  REPLICA,
  testInput,
  testSpec,
  useWorkflowTestBed,
  type Call,
  type FakeOptions,
} from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

const stepOf = (progress: PipelineProgress, step: string) => {
  const found = progress.steps.find((s) => s.step === step);
  assert.ok(found, `no step ${step} in progress`);
  return found;
};

type CsvPipeline = (input: PipelineInputRaw) => Promise<PipelineResult>;

/** Runs csvPipeline to its end with fake activities, under its business-key workflow id. */
const runPipeline = (input: PipelineInputRaw, options: FakeOptions = {}) =>
  bed.runToEnd(
    'csvPipeline',
    input,
    options,
    pipelineWorkflowId(input.spec as { name: string }, input.batch as { id: string }),
  );

const statuses = (result: PipelineProgress) => Object.fromEntries(result.steps.map((s) => [s.step, s.status]));

describe('csvPipeline, happy path', () => {
  test('runs every step in order, regions in parallel, and returns durations, AWS ids and counts', async () => {
    // Each curated crawl wait goes on until both have started: in parallel, both are in progress at once.
    const curatedWaits = (calls: readonly Call[]) =>
      calls.filter(
        (c) => c.name === 'waitForCrawler' && (c.input as { crawlerName: string }).crawlerName.includes('curated'),
      ).length;
    const fakes = fakeActivities({
      crawlUntil: { done: (i, calls) => !i.crawlerName.includes('curated') || curatedWaits(calls) >= 2 },
    });
    const { worker, taskQueue } = await bed.worker(fakes);
    const input = testInput();
    const workflowId = pipelineWorkflowId(PipelineSpec.parse(input.spec), input.batch);
    const result = await worker.runUntil(
      bed.env.client.workflow.execute<(i: unknown) => Promise<PipelineResult>>('csvPipeline', {
        taskQueue,
        workflowId,
        args: [input],
      }),
    );

    const names = fakes.calls.map((c) => c.name);
    assert.deepEqual(names.slice(0, 12), [
      'copyObjects',
      'startCrawler',
      'waitForCrawler',
      'startGlueJobRun',
      'waitForGlueJobRun',
      'readManifestSummary',
      // replicate-curated: see the next test
      'deleteObjects',
      'copyObjects',
      'deleteObjects',
      'writeCopyManifest',
      'writeCopyManifest',
      'copyObjects',
    ]);
    const crawlWait = (region: string) =>
      fakes.calls.find(
        (c) =>
          c.name === 'waitForCrawler' &&
          c.region === region &&
          (c.input as { crawlerName: string }).crawlerName.includes('curated'),
      )!;
    const [a, b] = [crawlWait(PRIMARY), crawlWait(REPLICA)];
    assert.ok(a.startedAtMs < b.endedAtMs! && b.startedAtMs < a.endedAtMs!, 'the regions did not overlap');
    assert.equal(names.filter((n) => n === 'sendFailureEmail').length, 0);

    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      result.steps.map((s) => [s.step, s.status]),
      [
        ['stage-raw', 'succeeded'],
        ['crawl-raw', 'succeeded'],
        ['transform', 'succeeded'],
        ['replicate-curated', 'succeeded'],
        [`crawl-curated@${PRIMARY}`, 'succeeded'],
        [`crawl-curated@${REPLICA}`, 'succeeded'],
        [`redshift-refresh@${PRIMARY}`, 'succeeded'],
        [`redshift-refresh@${REPLICA}`, 'succeeded'],
      ],
    );
    assert.equal(stepOf(result, 'transform').awsIds.jobRunId, 'jr_test_1');
    assert.equal(stepOf(result, 'crawl-raw').awsIds.crawlerName, 'sales-raw');
    assert.match(stepOf(result, `redshift-refresh@${REPLICA}`).awsIds.statementIds![0]!, new RegExp(`^st-${REPLICA}`));
    assert.ok(result.steps.every((s) => typeof s.durationMs === 'number'));
    assert.deepEqual(result.totals, {
      rawObjects: 2,
      rawBytes: 200,
      curatedObjects: 2,
      curatedBytes: 1500,
      rowsIn: 100,
      rowsOut: 97,
      rowsRejected: 3,
      quarantineUri: `s3://sales-curated-use1/quarantine/batch_id=${result.batchId}/`,
    });
    assert.equal(stepOf(result, 'transform').awsIds.quarantineUri, result.totals.quarantineUri);
  });
});

describe('csvPipeline, replicate-curated', () => {
  test("leaves each replica's batch prefix holding exactly the manifest's files, the manifest last", async () => {
    const input = testInput();
    const batchId = (input.batch as { id: string }).id;
    const { result, called } = await runPipeline(input);
    assert.equal(result?.status, 'succeeded');
    const replicaBucket = 'sales-curated-euw1';
    const manifestKey = `_glueline/manifests/sales/${batchId}.json`;
    const copyManifestKey = `_glueline/copy-manifests/sales/${batchId}.manifest`;
    // The manifest's files by the manifest: where it is, the ETag read, how many and the checksum of their keys.
    const files = {
      region: PRIMARY,
      bucket: 'sales-curated-use1',
      key: manifestKey,
      count: 2,
      checksum: keysChecksum(MANIFEST.outputFiles.map((f) => f.key)),
      etag: '"fake-manifest-etag"',
    };
    // In order: the earlier manifests, the data, earlier runs' files, the COPY manifests, the Glue manifest last.
    assert.deepEqual(
      called('deleteObjects').map((c) => c.input),
      [
        { region: REPLICA, bucket: replicaBucket, keys: [manifestKey, copyManifestKey] },
        {
          region: REPLICA,
          bucket: replicaBucket,
          prefix: `curated/sales/batch_id=${batchId}/`,
          exceptManifestFiles: files,
        },
      ],
    );
    const copies = called('copyObjects').map((c) => (c.input as CopyObjectsInput).source);
    assert.deepEqual(copies.slice(1), [
      { region: PRIMARY, bucket: 'sales-curated-use1', manifestFiles: files },
      { region: PRIMARY, bucket: 'sales-curated-use1', keys: [manifestKey] },
    ]);
    assert.deepEqual(
      called('writeCopyManifest')
        .map((c) => c.input)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { region: REPLICA, bucket: replicaBucket, key: copyManifestKey, manifestFiles: files },
        { region: PRIMARY, bucket: 'sales-curated-use1', key: copyManifestKey, manifestFiles: files },
      ],
    );
    // Each waits for the one before: the calls never overlap.
    const [forgetManifests, pruneStale] = called('deleteObjects');
    const [, copyData, copyManifest] = called('copyObjects');
    assert.ok(forgetManifests!.endedAtMs! <= copyData!.startedAtMs);
    assert.ok(copyData!.endedAtMs! <= pruneStale!.startedAtMs);
    for (const write of called('writeCopyManifest')) {
      assert.ok(pruneStale!.endedAtMs! <= write.startedAtMs && write.endedAtMs! <= copyManifest!.startedAtMs);
    }
    const counts = stepOf(result!, 'replicate-curated').counts;
    assert.deepEqual([counts.staleDeleted, counts.copyManifests], [0, 2]);
  });

  test('with 10,000 Parquet files, no activity input passes a few KB (the 2 MB payload limit is far)', async () => {
    const outputFiles = Array.from({ length: 10_000 }, (_, i) => ({
      key: `curated/sales/batch_id=b/order_date=2026-11-29/part-${String(i).padStart(5, '0')}-3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f6a7b8.c000.snappy.parquet`,
      bytes: 1_000_000,
    }));
    const manifest = { ...MANIFEST, outputFiles };
    const { result, called } = await runPipeline(testInput(), { manifest });
    assert.equal(result?.status, 'succeeded');
    const replicate = ['copyObjects', 'deleteObjects', 'writeCopyManifest'] as const;
    const inputs = replicate.flatMap((name) =>
      called(name).map((c) => ({ name, bytes: JSON.stringify(c.input).length })),
    );
    assert.ok(inputs.length >= 6, JSON.stringify(inputs));
    const largest = Math.max(...inputs.map((i) => i.bytes));
    assert.ok(largest < 4 * 1024, `largest input ${largest} bytes: ${JSON.stringify(inputs)}`);
    // What one of them held before: every key, about 1.4 MB.
    assert.ok(JSON.stringify(outputFiles).length > 1024 * 1024);
  });

  test('a refresh SQL names the COPY manifest of its own region', async () => {
    const { called } = await runPipeline(testInput());
    const sqls = called('executeStatements').map((c) => (c.input as { region: string; sqls: string[] }).sqls[0]);
    assert.ok(
      sqls.some((sql) => /s3:\/\/sales-curated-euw1\/_glueline\/copy-manifests\/sales\/.+\.manifest/.test(sql!)),
    );
    assert.ok(
      sqls.some((sql) => /s3:\/\/sales-curated-use1\/_glueline\/copy-manifests\/sales\/.+\.manifest/.test(sql!)),
    );
  });
});

describe('csvPipeline, timeouts', () => {
  const seconds = (d: { seconds?: unknown } | null | undefined) => Number(d?.seconds ?? 0);

  test("the spec's timeouts and notification retry window set every activity's timeouts", async () => {
    const spec = testSpec({ timeouts: { heartbeatSeconds: 15, awsCallSeconds: 20 } });
    const input = testInput({ spec: { ...spec, notify: { ...spec.notify, retryWindowMinutes: 30 } } });
    const { handle } = await bed.runToEnd('csvPipeline', input, {
      fail: { waitForStatement: () => ApplicationFailure.nonRetryable('denied', 'AccessDeniedException') },
    });
    const scheduled = new Map<string, { heartbeat: number; startToClose: number; scheduleToClose: number }>();
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const a = e.activityTaskScheduledEventAttributes;
      if (!a) continue;
      const timeouts = {
        heartbeat: seconds(a.heartbeatTimeout),
        startToClose: seconds(a.startToCloseTimeout),
        scheduleToClose: seconds(a.scheduleToCloseTimeout),
      };
      scheduled.set(a.activityType!.name!, timeouts);
    }
    for (const name of ['copyObjects', 'startCrawler', 'waitForGlueJobRun', 'waitForStatement'])
      assert.equal(scheduled.get(name)?.heartbeat, 15, name);
    for (const name of ['readManifestSummary', 'executeStatements', 'cancelStatement'])
      assert.equal(scheduled.get(name)?.startToClose, 20, name);
    for (const name of ['sendFailureEmail', 'postFailureWebhook'])
      assert.equal(scheduled.get(name)?.scheduleToClose, 30 * 60, name);
  });

  test('without them, waits heartbeat within 2 minutes and notifications retry for 6 hours', async () => {
    const { handle } = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { waitForStatement: () => ApplicationFailure.nonRetryable('denied', 'AccessDeniedException') },
    });
    const events = (await handle.fetchHistory()).events ?? [];
    const of = (name: string) =>
      events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name)!
        .activityTaskScheduledEventAttributes!;
    assert.equal(seconds(of('waitForGlueJobRun').heartbeatTimeout), 120);
    assert.equal(seconds(of('executeStatements').startToCloseTimeout), 120);
    assert.equal(seconds(of('sendFailureEmail').scheduleToCloseTimeout), 6 * 3600);
  });
});

describe('csvPipeline, visibility', () => {
  test('the progress query shows finished steps, the running transform with its job run id, and pending steps', async () => {
    const glue = controllableGlueWait();
    const fakes = fakeActivities({ waitForGlueJobRun: glue.wait });
    const { worker, taskQueue } = await bed.worker(fakes);
    const input = testInput();
    const handle = await bed.env.client.workflow.start<CsvPipeline>('csvPipeline', {
      taskQueue,
      workflowId: pipelineWorkflowId({ name: 'sales' }, input.batch as { id: string }),
      args: [input],
    });
    await worker.runUntil(async () => {
      const progress = await bed.progressWhen(handle, (p) =>
        p.steps.some((s) => s.step === 'transform' && s.awsIds.jobRunId),
      );
      glue.state.released = true;
      await handle.result();
      assert.equal(progress.status, 'running');
      assert.equal(progress.pipeline, 'sales');
      assert.deepEqual(
        [statuses(progress)['stage-raw'], statuses(progress)['crawl-raw'], statuses(progress)['transform']],
        ['succeeded', 'succeeded', 'running'],
      );
      const transform = stepOf(progress, 'transform');
      assert.deepEqual(transform.awsIds, { jobName: 'sales-to-parquet', jobRunId: 'jr_test_1' });
      assert.ok(transform.startedAt && !transform.endedAt);
      assert.equal(stepOf(progress, 'crawl-raw').awsIds.crawlerName, 'sales-raw');
      assert.equal(stepOf(progress, 'stage-raw').counts.objects, 2);
      assert.equal(stepOf(progress, `redshift-refresh@${REPLICA}`).status, 'pending');
    });
  });

  test('a run carries the pipeline and batch as search attributes and memo, and its rows in the memo at the end', async () => {
    const input = testInput();
    const { handle, result } = await runPipeline(input);
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(SearchAttributeKeys.pipeline), 'sales');
    assert.equal(description.typedSearchAttributes.get(SearchAttributeKeys.batch), (input.batch as { id: string }).id);
    assert.equal((description.memo as { pipeline?: string } | undefined)?.pipeline, 'sales');
    const { rowsIn, rowsOut, rowsRejected } = result!.totals;
    assert.ok(rowsIn !== undefined && rowsIn > 0);
    assert.deepEqual(description.memo?.[OUTCOME_MEMO_KEY], { rowsIn, rowsOut, rowsRejected });
  });
});

describe('csvPipeline, options', () => {
  test('startAt replicate-curated skips the earlier steps and reads the manifest itself', async () => {
    const { result, called } = await runPipeline(testInput({ options: { startAt: 'replicate-curated' } }));
    assert.ok(result);
    assert.deepEqual(
      [statuses(result)['stage-raw'], statuses(result)['crawl-raw'], statuses(result)['transform']],
      ['skipped', 'skipped', 'skipped'],
    );
    assert.equal(called('startGlueJobRun').length, 0);
    assert.equal(called('readManifestSummary').length, 1);
    const copy = called('copyObjects')[0]!.input as CopyObjectsInput;
    assert.deepEqual(copy.destinations, [{ region: REPLICA, bucket: 'sales-curated-euw1' }]);
    assert.equal(statuses(result)[`redshift-refresh@${REPLICA}`], 'succeeded');
    assert.equal(stepOf(result, 'transform').skipReason, 'before options.startAt (replicate-curated)');
  });

  test('stopAfter transform runs up to the Glue job and no further', async () => {
    const { result, called } = await runPipeline(testInput({ options: { stopAfter: 'transform' } }));
    assert.ok(result);
    assert.equal(result.status, 'succeeded');
    assert.equal(statuses(result)['transform'], 'succeeded');
    assert.equal(statuses(result)['replicate-curated'], 'skipped');
    assert.equal(called('copyObjects').length, 1, 'only stage-raw copies');
    assert.equal(called('executeStatements').length, 0);
  });

  test('skip leaves out exactly the listed steps', async () => {
    const { result, called } = await runPipeline(testInput({ options: { skip: ['crawl-raw', 'redshift-refresh'] } }));
    assert.ok(result);
    assert.equal(statuses(result)['crawl-raw'], 'skipped');
    assert.equal(statuses(result)[`redshift-refresh@${PRIMARY}`], 'skipped');
    assert.equal(statuses(result)[`crawl-curated@${REPLICA}`], 'succeeded');
    assert.equal(called('executeStatements').length, 0);
    assert.deepEqual(
      called('startCrawler')
        .map((c) => (c.input as { crawlerName: string }).crawlerName)
        .sort(),
      ['sales-curated-euw1', 'sales-curated-use1'],
    );
  });

  test('a region without a redshift target skips its refresh and the others still run theirs', async () => {
    const spec = testSpec();
    delete spec.regions[1]!.redshift;
    const { result, called } = await runPipeline(testInput({ spec }));
    assert.ok(result);
    assert.equal(statuses(result)[`redshift-refresh@${REPLICA}`], 'skipped');
    assert.equal(stepOf(result, `redshift-refresh@${REPLICA}`).skipReason, `region ${REPLICA} has no redshift target`);
    assert.deepEqual(
      called('executeStatements').map((c) => c.region),
      [PRIMARY],
    );
  });

  test('a prefix batch is staged under the batch prefix of every region when stageToAllRegions is set', async () => {
    const spec = testSpec({ raw: { crawler: 'sales-raw', stageToAllRegions: true } });
    const { result, called } = await runPipeline(
      testInput({ spec, batch: { id: 'b-prefix-1', source: { bucket: 'landing', prefix: 'drop/2026-11-26/' } } }),
    );
    assert.ok(result);
    const copy = called('copyObjects')[0]!.input as CopyObjectsInput;
    assert.deepEqual(copy.source, { region: PRIMARY, bucket: 'landing', prefix: 'drop/2026-11-26/' });
    assert.deepEqual(copy.rename, { stripPrefix: 'drop/2026-11-26/', addPrefix: 'raw/batch_id=b-prefix-1/' });
    assert.deepEqual(copy.destinations, [
      { region: PRIMARY, bucket: 'sales-raw-use1' },
      { region: REPLICA, bucket: 'sales-raw-euw1' },
    ]);
  });

  test("a landing bucket with a region of its own (--source-region, an event's awsRegion) is read through it", async () => {
    const source = { bucket: 'landing-euw2', region: 'eu-west-2', prefix: 'drop/b-1/' };
    const { result, called } = await runPipeline(testInput({ batch: { id: 'b-region-1', source } }));
    assert.ok(result);
    const copy = called('copyObjects')[0]!.input as CopyObjectsInput;
    assert.deepEqual(copy.source, { region: 'eu-west-2', bucket: 'landing-euw2', prefix: 'drop/b-1/' });
    // Without one, the landing bucket is taken to be in the primary region.
    const { called: plain } = await runPipeline(
      testInput({ batch: { id: 'b-region-2', source: { bucket: 'landing', prefix: 'drop/b-2/' } } }),
    );
    assert.equal((plain('copyObjects')[0]!.input as CopyObjectsInput).source.region, PRIMARY);
  });
});

describe('csvPipeline, bad input', () => {
  test('a bad spec fails the run at once, naming the field, and runs nothing', async () => {
    const spec = testSpec();
    (spec.regions[1] as { rawBucket: string }).rawBucket = 'Not_A_Bucket';
    const { error, fakes } = await runPipeline(testInput({ spec }));
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const cause = error.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, FailureType.InvalidInput);
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /input\.spec\.regions\[1\]\.rawBucket: "Not_A_Bucket" is not a valid S3 bucket name/);
    assert.equal(fakes.calls.length, 0);
  });
});

describe('csvPipeline, identity', () => {
  test('a duplicated trigger attaches to the running run, and a completed batch is not redone unless asked', async () => {
    const glue = controllableGlueWait();
    const { worker, taskQueue } = await bed.worker(fakeActivities({ waitForGlueJobRun: glue.wait }));
    const input = testInput();
    const first = await bed.env.client.workflow.start('csvPipeline', csvPipelineStartOptions(input, { taskQueue }));
    assert.equal(first.workflowId, `csv-pipeline-sales-${(input.batch as { id: string }).id}`);
    await worker.runUntil(async () => {
      await bed.progressWhen(first, (p) => p.steps.some((s) => s.status === 'running'));
      const duplicate = await bed.env.client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions(input, { taskQueue }),
      );
      assert.equal(duplicate.firstExecutionRunId, first.firstExecutionRunId);
      glue.state.released = true;
      await first.result();
      await assert.rejects(
        bed.env.client.workflow.start('csvPipeline', csvPipelineStartOptions(input, { taskQueue })),
        WorkflowExecutionAlreadyStartedError,
      );
      const redo = await bed.env.client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions(input, { taskQueue, redo: true }),
      );
      assert.notEqual(redo.firstExecutionRunId, first.firstExecutionRunId);
      await redo.result();
    });
  });
});
