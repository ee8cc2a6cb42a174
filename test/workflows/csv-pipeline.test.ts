import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pipelineWorkflowId, type PipelineProgress, type PipelineResult } from '../../src/pipeline';
import { PipelineSpec } from '../../src/spec';
import { fakeActivities, PRIMARY, REPLICA, testInput, WorkflowTestBed } from './harness';

let bed: WorkflowTestBed;
before(async () => {
  bed = await WorkflowTestBed.start();
});
after(async () => {
  await bed?.teardown();
});

const stepOf = (progress: PipelineProgress, step: string) => {
  const found = progress.steps.find((s) => s.step === step);
  assert.ok(found, `no step ${step} in progress`);
  return found;
};

describe('csvPipeline, happy path', () => {
  test('runs every step in order, regions in parallel, and returns durations, AWS ids and counts', async () => {
    const fakes = fakeActivities({ crawlMs: 300 });
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
    assert.deepEqual(names.slice(0, 7), [
      'copyObjects',
      'startCrawler',
      'waitForCrawler',
      'startGlueJobRun',
      'waitForGlueJobRun',
      'readManifest',
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
    });
  });
});
