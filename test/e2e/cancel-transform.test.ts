/**
 * Cancelling a run during transform, on the real stack: the worker as its own process with the real
 * activities, the run started with the temporal CLI, the Glue job scripted through the gateway to run
 * until stopped. Cancelling the run must reach Glue (BatchStopJobRun, the run STOPPED), send exactly
 * one failure email naming transform, and close the run with the cancellation as its cause.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetJobRunCommand, GlueClient, type JobRun } from '@aws-sdk/client-glue';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { SinkMessage } from '../../devstack/mail-sink';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId, PROGRESS_QUERY, type PipelineProgress } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl, type RequestCounts } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionQuietly, putSampleCsvs, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';
import { startStackWorker, temporalWorkflowStart, type StackWorker } from '../../devstack/testkit/worker-process';

const STEP_TIMEOUT_MS = 120_000;

describe('cancelling csvPipeline during transform, end to end', () => {
  const gateway = new GatewayControl();
  let spec: PipelineSpec;
  let batch: Batch;
  let stackWorker: StackWorker | undefined;
  let handle: WorkflowHandle;
  let jobRunId: string;
  let error: unknown;
  let counts: RequestCounts;
  let jobRun: JobRun;
  let emails: SinkMessage[];

  before(
    async () => {
      spec = uniqueSalesSpec();
      const primary = primaryRegion(spec);
      await provisionQuietly(spec);
      // The job runs until something stops it.
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'RUNNING' }]);
      batch = { id: unique('cancel'), source: { bucket: primary.rawBucket, prefix: 'landing/cancel/' } };
      await putSampleCsvs(spec, 'landing/cancel/', 1);

      const taskQueue = unique('e2e-cancel');
      stackWorker = await startStackWorker(taskQueue);
      const workflowId = pipelineWorkflowId(spec, batch);
      temporalWorkflowStart({ type: 'csvPipeline', taskQueue, workflowId, input: { spec, batch } });

      handle = stackWorker.client.workflow.getHandle(workflowId);
      const running = await pollUntil(
        () => handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined),
        (p) => p?.steps.some((s) => s.step === 'transform' && s.status === 'running' && !!s.awsIds.jobRunId) ?? false,
        { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250 },
      );
      jobRunId = running!.steps.find((s) => s.step === 'transform')!.awsIds.jobRunId!;
      // The wait is polling (so it is the one the cancellation reaches, as in the normal case).
      await pollUntil(
        () => gateway.counts(spec.transform.jobName),
        (c) => (c['glue:GetJobRun']?.count ?? 0) >= 1,
        { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250 },
      );

      await handle.cancel();
      error = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );

      counts = await gateway.counts(spec.transform.jobName);
      const glue = new GlueClient(awsClientConfig(primary.region));
      jobRun = (await glue.send(new GetJobRunCommand({ JobName: spec.transform.jobName, RunId: jobRunId }))).JobRun!;
      glue.destroy();
      const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
      emails = inbox.filter((m) => m.subject.includes(`batch ${batch.id} `));
    },
    { timeout: 2 * STEP_TIMEOUT_MS },
  );

  after(async () => {
    await stackWorker?.stop();
  });

  test('the cancellation reached Glue: one BatchStopJobRun, and the job run is STOPPED', () => {
    assert.equal(counts['glue:BatchStopJobRun']?.count, 1, JSON.stringify(counts));
    assert.equal(jobRun.JobRunState, 'STOPPED');
  });

  test('the run was stopped once: the wait stopped it, so the workflow did not run stopGlueJobRun', async () => {
    const { events } = await handle.fetchHistory();
    const scheduled = (events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.ok(scheduled.includes('waitForGlueJobRun'));
    assert.ok(!scheduled.includes('stopGlueJobRun'), 'the workflow stopped a run the wait had already stopped');
  });

  test('exactly one failure email arrived, naming transform and the cancellation', () => {
    assert.equal(emails.length, 1, emails.map((m) => m.subject).join('\n'));
    const [email] = emails;
    assert.match(email!.subject, /failed at transform$/);
    assert.match(email!.text, /Cancelled/);
    assert.match(email!.text, new RegExp(jobRunId));
  });

  test('the run closed as cancelled, with the cancellation as its cause', async () => {
    assert.ok(error instanceof WorkflowFailedError, `expected the run to end unsuccessfully, got ${String(error)}`);
    const cause = error.cause instanceof ActivityFailure ? error.cause.cause : error.cause;
    assert.ok(cause instanceof CancelledFailure, `expected the cancellation as the cause, got ${String(error.cause)}`);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
  });
});
