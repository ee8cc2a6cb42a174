import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { FailureNotice } from '../../src/activities/types';
import type { PipelineResult } from '../../src/pipeline';
import { unique } from '../support/stack';
import { controllableGlueWait, fakeActivities, testInput, testSpec, WorkflowTestBed } from './harness';

let bed: WorkflowTestBed;
before(async () => {
  bed = await WorkflowTestBed.start();
});
after(async () => {
  await bed?.teardown();
});

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
