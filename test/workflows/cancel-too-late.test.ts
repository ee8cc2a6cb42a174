/**
 * Issue 22: a cancel that arrives after the AWS work already ended. Both regions' statement waits are held open
 * (they never heartbeat, as a wait whose statement FINISHED just as the cancel came), the run is cancelled, and the
 * waits then complete. The refresh committed, so the run completes, and its result and progress say that the cancel
 * came after redshift-refresh had finished in each region, rather than completing as if nothing was asked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PipelineProgress, PipelineResult } from '../../src/workflow-safe/pipeline';
import { PROGRESS_QUERY } from '../../src/workflow-safe/pipeline';
import { pollUntil } from '../../devstack/testkit/poll';
import { unique } from '../../devstack/testkit/stack';
import { fakeActivities, gatedActivity, testInput, useWorkflowTestBed } from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

describe('csvPipeline, a cancel that comes after the AWS work ended', () => {
  test('both refreshes finished: the run completes and says the cancel came after redshift-refresh had finished', async () => {
    const gate = gatedActivity((input: { statementId: string }) => ({
      statementId: input.statementId,
      status: 'FINISHED' as const,
      subStatements: [],
      polls: 3,
    }));
    const fakes = fakeActivities({ replace: { waitForStatement: gate.activity } });
    const { worker, taskQueue } = await bed.worker(fakes);
    const handle = await bed.env.client.workflow.start<(input: unknown) => Promise<PipelineResult>>('csvPipeline', {
      taskQueue,
      workflowId: unique('cancel-late'),
      args: [testInput({ options: { startAt: 'redshift-refresh' } })],
    });
    const { result, progress } = await worker.runUntil(async () => {
      await pollUntil(
        async () => gate.state.started,
        (n) => n >= 2,
      );
      await handle.cancel();
      await bed.eventsWhen(handle, (e) => !!e.activityTaskCancelRequestedEventAttributes, 2);
      gate.open();
      const result = await handle.result();
      return { result, progress: await handle.query<PipelineProgress>(PROGRESS_QUERY) };
    });
    assert.equal(result.status, 'succeeded');
    const expected =
      'cancel requested after redshift-refresh@us-east-1 and redshift-refresh@eu-west-1 had finished: ' +
      'their AWS work stands and the run completed';
    assert.equal(result.cancelRequest?.message, expected);
    assert.equal(progress.cancelRequest?.message, expected);
    assert.deepEqual(result.cancelRequest?.finishedSteps, ['redshift-refresh@us-east-1', 'redshift-refresh@eu-west-1']);
    assert.ok(!Number.isNaN(Date.parse(result.cancelRequest?.requestedAt ?? '')));
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    assert.equal(
      fakes.calls.filter((c) => c.name === 'cancelStatement').length,
      0,
      'a finished statement was cancelled',
    );
  });

  test('a run that nobody cancelled reports no cancel request', async () => {
    const { result } = await bed.runToEnd('csvPipeline', testInput());
    assert.equal(result?.status, 'succeeded');
    assert.equal(result?.cancelRequest, undefined);
  });
});
