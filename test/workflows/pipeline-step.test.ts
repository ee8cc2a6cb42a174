import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import { stepWorkflowId, type PipelineStepInputRaw } from '../../src/workflow-safe/pipeline';
import { nonRetryable, REPLICA, testInput, useWorkflowTestBed } from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

function stepInput(step: PipelineStepInputRaw['step'], region?: string): PipelineStepInputRaw {
  const { spec, batch } = testInput();
  return { spec, batch, step, ...(region ? { region } : {}) };
}

describe('pipelineStep', () => {
  test('runs exactly the one named step in the named region', async () => {
    const input = stepInput('crawl-curated', REPLICA);
    const { result, fakes } = await bed.runToEnd(
      'pipelineStep',
      input,
      {},
      stepWorkflowId({ name: 'sales' }, input.batch as { id: string }, 'crawl-curated', REPLICA),
    );
    assert.ok(result);
    assert.deepEqual(
      fakes.calls.map((c) => [c.name, c.region, (c.input as { crawlerName?: string }).crawlerName]),
      [
        ['startCrawler', REPLICA, 'sales-curated-euw1'],
        ['waitForCrawler', REPLICA, 'sales-curated-euw1'],
      ],
    );
    assert.deepEqual(
      result.steps.map((s) => [s.step, s.status]),
      [[`crawl-curated@${REPLICA}`, 'succeeded']],
    );
    assert.equal(result.workflowType, 'pipelineStep');
  });

  test("a crawl step names the batch's objects, reports the crawl it joined, and leaves a shared crawl running on cancel", async () => {
    const input = stepInput('crawl-raw');
    const joined = {
      how: 'joined' as const,
      crawlId: 'crawl-1',
      crawlStartedAt: '2026-11-30T12:00:05.000Z',
      dataInPlaceBy: '2026-11-30T12:00:04.000Z',
      reason: "crawl crawl-1 started 2026-11-30T12:00:05.000Z, after the batch's objects were in place",
    };
    const { result, called } = await bed.runToEnd('pipelineStep', input, {
      replace: {
        startCrawler: async (i) => ({
          crawlerName: i.crawlerName,
          startedAfter: joined.crawlStartedAt,
          clock: 'aws',
          waitedForRunningCrawl: false,
          crawl: joined,
        }),
      },
    });
    assert.ok(result);
    const start = called('startCrawler')[0]!.input as { data: { bucket: string; prefix: string } };
    assert.deepEqual(start.data, {
      bucket: 'sales-raw-use1',
      prefix: `raw/batch_id=${(input.batch as { id: string }).id}/`,
    });
    const wait = called('waitForCrawler')[0]!.input as { startedAfter: string; clock: string; stopOnCancel: boolean };
    assert.deepEqual([wait.startedAfter, wait.clock, wait.stopOnCancel], [joined.crawlStartedAt, 'aws', false]);
    assert.deepEqual(result.steps[0]!.crawl, joined);
  });

  test('runs transform with the same Glue job arguments and run tag as csvPipeline would', async () => {
    const { result, called, handle } = await bed.runToEnd('pipelineStep', stepInput('transform'));
    assert.ok(result);
    const start = called('startGlueJobRun')[0]!.input as { runTag: string; arguments: Record<string, string> };
    assert.equal(start.runTag, `${handle.workflowId}/${result.runId}`);
    assert.match(start.arguments['--input_path']!, /^s3:\/\/sales-raw-use1\/raw\/batch_id=/);
    assert.equal(called('readManifestSummary').length, 1);
    assert.equal(result.totals.rowsOut, 97);
  });

  test('a failing step sends one notification naming the step and fails with its cause', async () => {
    const { error, called } = await bed.runToEnd('pipelineStep', stepInput('redshift-refresh', REPLICA), {
      fail: { waitForStatement: () => nonRetryable(FailureType.StatementFailed, 'relation "sales" does not exist') },
    });
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal((error.cause?.cause as ApplicationFailure | undefined)?.type, FailureType.StatementFailed);
    const emails = called('sendFailureEmail');
    assert.equal(emails.length, 1);
    assert.equal((emails[0]!.input as FailureNotice).step, `redshift-refresh@${REPLICA}`);
    assert.equal((emails[0]!.input as FailureNotice).workflowType, 'pipelineStep');
  });

  test('a per-region step without a region fails at once, naming input.region', async () => {
    const { error, fakes } = await bed.runToEnd('pipelineStep', stepInput('crawl-curated'));
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, FailureType.InvalidInput);
    assert.match(error.cause.message, /input\.region: is required: crawl-curated runs per region/);
    assert.equal(fakes.calls.length, 0);
  });
});
