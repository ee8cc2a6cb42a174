import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import { stepWorkflowId, type PipelineStepInputRaw } from '../../src/workflow-safe/pipeline';
import { nonRetryable, REPLICA, testInput, WorkflowTestBed } from '../../devstack/testkit/workflow-harness';

let bed: WorkflowTestBed;
before(async () => {
  bed = await WorkflowTestBed.start();
});
after(async () => {
  await bed?.teardown();
});

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

  test('runs transform with the same Glue job arguments and run tag as csvPipeline would', async () => {
    const { result, called, handle } = await bed.runToEnd('pipelineStep', stepInput('transform'));
    assert.ok(result);
    const start = called('startGlueJobRun')[0]!.input as { runTag: string; arguments: Record<string, string> };
    assert.equal(start.runTag, `${handle.workflowId}/${result.runId}`);
    assert.match(start.arguments['--input_path']!, /^s3:\/\/sales-raw-use1\/raw\/batch_id=/);
    assert.equal(called('readManifest').length, 1);
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
