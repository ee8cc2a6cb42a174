import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import type { PipelineResult } from '../../src/workflow-safe/pipeline';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { pollUntil } from '../../devstack/testkit/poll';
import { unique } from '../../devstack/testkit/stack';
import {
  controllableGlueWait,
  fakeActivities,
  gatedActivity,
  nonRetryable,
  PRIMARY,
  testInput,
  testSpec,
  useWorkflowTestBed,
} from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

const HOUR_MS = 3_600_000;
const POLL_MS = 60_000;

describe('csvPipeline, long waits and cancellation', () => {
  test('cancelling the run during transform stops the Glue job run and sends the notification', async () => {
    const glue = controllableGlueWait();
    const fakes = fakeActivities({ waitForGlueJobRun: glue.wait });
    const { worker, taskQueue } = await bed.worker(fakes);
    const handle = await bed.env.client.workflow.start<(input: unknown) => Promise<PipelineResult>>('csvPipeline', {
      taskQueue,
      workflowId: unique('cancel'),
      args: [testInput()],
    });
    const error = await worker.runUntil(async () => {
      await bed.progressWhen(handle, (p) => p.steps.some((s) => s.step === 'transform' && s.awsIds.jobRunId));
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof CancelledFailure || error.cause instanceof ActivityFailure, String(error.cause));
    assert.equal(glue.state.stopRequested, true, 'the Glue wait never saw the cancellation');
    const emails = fakes.calls.filter((c) => c.name === 'sendFailureEmail');
    assert.equal(emails.length, 1);
    const notice = emails[0]!.input as FailureNotice;
    assert.equal(notice.step, 'transform');
    assert.equal(notice.error.type, 'Cancelled');
    assert.equal(notice.awsIds?.jobRunId, 'jr_test_1');
    const waitCall = fakes.calls.find((c) => c.name === 'waitForGlueJobRun')!;
    assert.ok(waitCall.endedAtMs! <= emails[0]!.startedAtMs, 'the workflow notified before the Glue wait stopped');
    assert.equal(
      fakes.calls.filter((c) => c.name === 'stopGlueJobRun').length,
      0,
      'the wait reported the run stopped, yet the workflow stopped it again',
    );
  });

  /**
   * Starts a run whose `startName` activity (startGlueJobRun or executeStatements) is held open, cancels
   * the run while it is held (once the history shows each held call's cancellation was requested), then
   * lets it finish: the step's AWS work is then started, but its wait never runs.
   */
  async function cancelWhileStarting(startName: 'startGlueJobRun' | 'executeStatements', starts: number) {
    const gate = gatedActivity((input: { region?: string }) =>
      startName === 'startGlueJobRun'
        ? { jobRunId: 'jr_test_1', reused: false }
        : { statementId: `st-${input.region}-held` },
    );
    const fakes = fakeActivities({ replace: { [startName]: gate.activity } });
    const { worker, taskQueue } = await bed.worker(fakes);
    const handle = await bed.env.client.workflow.start<(input: unknown) => Promise<PipelineResult>>('csvPipeline', {
      taskQueue,
      workflowId: unique('cancel-start'),
      args: [testInput()],
    });
    const error = await worker.runUntil(async () => {
      await pollUntil(
        async () => gate.state.started,
        (n) => n >= starts,
      );
      await handle.cancel();
      await bed.eventsWhen(handle, (e) => !!e.activityTaskCancelRequestedEventAttributes, starts);
      gate.open();
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const cause = error.cause instanceof ActivityFailure ? error.cause.cause : error.cause;
    assert.ok(cause instanceof CancelledFailure, `expected the cancellation as the cause, got ${String(error.cause)}`);
    const called = (name: string) => fakes.calls.filter((c) => c.name === name);
    return { called };
  }

  test('cancelling the run after the Glue job run started but before its wait ran stops the run', async () => {
    const { called } = await cancelWhileStarting('startGlueJobRun', 1);
    assert.equal(called('waitForGlueJobRun').length, 0, 'the wait ran: this test no longer covers the gap');
    const stops = called('stopGlueJobRun');
    assert.equal(stops.length, 1);
    assert.deepEqual(stops[0]!.input, {
      region: 'us-east-1',
      jobName: 'sales-to-parquet',
      jobRunId: 'jr_test_1',
      polling: PipelineSpec.parse(testSpec()).polling.glueJob,
    });
    const emails = called('sendFailureEmail');
    assert.equal(emails.length, 1);
    const notice = emails[0]!.input as FailureNotice;
    assert.equal(notice.step, 'transform');
    assert.equal(notice.error.type, 'Cancelled');
    assert.ok(stops[0]!.endedAtMs! <= emails[0]!.startedAtMs, 'the notice went out before the stop ended');
  });

  test('cancelling the run while startGlueJobRun has not reported a run stops the run found by its tag', async () => {
    // A start attempt that never reports (as one whose worker died after StartJobRun), until it is cancelled.
    const fakes = fakeActivities({
      replace: {
        startGlueJobRun: async () => {
          for (;;) {
            Context.current().heartbeat();
            await Context.current().sleep(20);
          }
        },
      },
    });
    const { worker, taskQueue } = await bed.worker(fakes);
    const handle = await bed.env.client.workflow.start<(input: unknown) => Promise<PipelineResult>>('csvPipeline', {
      taskQueue,
      workflowId: unique('cancel-unreported-start'),
      args: [testInput()],
    });
    const error = await worker.runUntil(async () => {
      await pollUntil(
        async () => fakes.calls.filter((c) => c.name === 'startGlueJobRun').length,
        (n) => n >= 1,
      );
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const stops = fakes.calls.filter((c) => c.name === 'stopGlueJobRun');
    assert.deepEqual(
      stops.map((c) => c.input),
      [
        {
          region: 'us-east-1',
          jobName: 'sales-to-parquet',
          runTag: `${handle.workflowId}/${(await handle.describe()).runId}`,
          polling: PipelineSpec.parse(testSpec()).polling.glueJob,
        },
      ],
    );
    const emails = fakes.calls.filter((c) => c.name === 'sendFailureEmail');
    assert.equal(emails.length, 1);
    assert.ok(stops[0]!.endedAtMs! <= emails[0]!.startedAtMs, 'the notice went out before the stop ended');
  });

  test('a start of the Glue job run that Glue refuses stops nothing', async () => {
    const refused = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { startGlueJobRun: () => nonRetryable('AccessDeniedException', 'not allowed to StartJobRun') },
    });
    assert.equal(refused.called('stopGlueJobRun').length, 0);
  });

  test('cancelling the run after the refresh SQL started but before its wait ran cancels the statements', async () => {
    const { called } = await cancelWhileStarting('executeStatements', 2);
    assert.equal(called('waitForStatement').length, 0, 'a wait ran: this test no longer covers the gap');
    assert.deepEqual(
      called('cancelStatement')
        .map((c) => (c.input as { statementId: string }).statementId)
        .sort(),
      ['st-eu-west-1-held', 'st-us-east-1-held'],
    );
    assert.equal(called('sendFailureEmail').length, 1);
  });

  test('a Glue wait that fails without the run ending stops the run; a run that ended is not stopped', async () => {
    const lost = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { waitForGlueJobRun: () => nonRetryable('AccessDeniedException', 'not allowed to GetJobRun') },
    });
    assert.equal(lost.called('stopGlueJobRun').length, 1);
    const ended = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { waitForGlueJobRun: () => nonRetryable(FailureType.GlueJobRunFailed, 'ended FAILED') },
    });
    assert.equal(ended.called('stopGlueJobRun').length, 0);
  });

  test('a statement wait that fails without the statement ending cancels it; a finished one is not cancelled', async () => {
    const lost = await bed.runToEnd('csvPipeline', testInput(), {
      fail: {
        waitForStatement: (i) => (i.region === PRIMARY ? nonRetryable('AccessDeniedException', 'denied') : undefined),
      },
    });
    assert.deepEqual(
      lost.called('cancelStatement').map((c) => c.region),
      [PRIMARY],
    );
    const ended = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { waitForStatement: () => nonRetryable(FailureType.StatementFailed, 'ended FAILED') },
    });
    assert.equal(ended.called('cancelStatement').length, 0);
  });

  test('a Glue job that runs for five hours is waited for, in one heartbeating attempt', async () => {
    const jobHours = 5;
    const input = testInput({
      spec: testSpec({
        transform: { jobName: 'sales-to-parquet', curatedPrefix: 'curated/sales/', timeoutMinutes: 8 * 60 },
      }),
    });
    const startMs = await bed.env.currentTimeMs();
    const { result, called } = await bed.runToEnd('csvPipeline', input, {
      waitForGlueJobRun: async (wait) => {
        // Each poll heartbeats, lets the heartbeat reach the server, then skips 60 s of server time:
        // half the 2-minute heartbeat timeout, so one heartbeat delayed by a busy machine is not a timeout.
        for (let polls = 1; polls * POLL_MS <= jobHours * HOUR_MS; polls++) {
          Context.current().heartbeat({ polls });
          // A timed-out attempt learns so from its heartbeat: stop polling rather than run on.
          if (Context.current().cancellationSignal.aborted) throw Context.current().cancellationSignal.reason;
          await new Promise((resolve) => setTimeout(resolve, 15));
          await bed.env.sleep(POLL_MS);
        }
        return {
          jobRunId: wait.jobRunId,
          jobRunState: 'SUCCEEDED',
          executionTimeSeconds: jobHours * 3600,
          polls: (jobHours * HOUR_MS) / POLL_MS,
        };
      },
    });
    assert.ok(result, 'the run failed');
    assert.equal(result.status, 'succeeded');
    assert.equal(called('waitForGlueJobRun').length, 1, 'the wait was retried (a heartbeat or start-to-close timeout)');
    assert.ok((await bed.env.currentTimeMs()) - startMs >= jobHours * HOUR_MS, 'less than five hours passed');
    const transform = result.steps.find((s) => s.step === 'transform')!;
    assert.equal(transform.counts.executionTimeSeconds, jobHours * 3600);
    assert.ok(transform.durationMs! >= jobHours * HOUR_MS);
  });
});
