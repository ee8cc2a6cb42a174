/**
 * Issue 22: cancelling a run while stage-raw copies, on the real stack. A gateway latency rule holds every
 * CopyObject into the raw bucket for minutes, and the copy runs one object at a time, so the cancel finds the
 * copy in progress. It must end the copy (no CopyObject after the one in flight), close the run as Cancelled,
 * and send exactly one notice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import {
  CANCEL_STEP_TIMEOUT_MS,
  CancelTestWorker,
  scheduledActivities,
  type CancelledRun,
} from '../../devstack/testkit/cancel-run';
import { GatewayControl, type RequestCounts } from '../../devstack/testkit/gateway';
import { provisionQuietly, putSampleCsvs, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { unique } from '../../devstack/testkit/stack';

/** Longer than any cancel may take: the copy must not wait it out. */
const COPY_LATENCY_MS = 5 * 60_000;

describe('cancelling csvPipeline while stage-raw copies, end to end', () => {
  const gateway = new GatewayControl();
  const worker = new CancelTestWorker();
  let spec: PipelineSpec;
  let batch: Batch;
  let run: CancelledRun;
  let counts: RequestCounts;
  let faultId: string;

  before(
    async () => {
      const base = uniqueSalesSpec();
      spec = { ...base, copy: { ...base.copy, concurrency: 1 } };
      const rawBucket = spec.regions[0]!.rawBucket;
      batch = { id: unique('cancel-copy'), source: { bucket: rawBucket, prefix: 'landing/cancel/' } };
      await provisionQuietly(spec);
      await putSampleCsvs(spec, 'landing/cancel/');
      ({ id: faultId } = await gateway.addFault({
        target: 's3:CopyObject',
        resource: rawBucket,
        action: { type: 'latency', ms: COPY_LATENCY_MS },
      }));
      await worker.start();
      run = await worker.cancelWhen({
        spec,
        batch,
        waitActivity: 'copyObjects',
        ready: (p) => p.steps.some((s) => s.name === 'stage-raw' && s.status === 'running'),
        readyInAws: async () => ((await gateway.counts(rawBucket))['s3:CopyObject']?.count ?? 0) >= 1,
      });
      counts = await gateway.counts(rawBucket);
    },
    { timeout: 2 * CANCEL_STEP_TIMEOUT_MS },
  );

  after(async () => {
    if (faultId) await gateway.deleteFault(faultId);
    await worker.stop();
  });

  test('the run closed as cancelled, with the cancellation of copyObjects as its cause', async () => {
    assert.ok(run.error instanceof WorkflowFailedError, `expected the run to be cancelled, got ${String(run.error)}`);
    const cause = run.error.cause instanceof ActivityFailure ? run.error.cause.cause : run.error.cause;
    assert.ok(cause instanceof CancelledFailure, `expected the cancellation as the cause, got ${String(cause)}`);
    assert.equal((await run.handle.describe()).status.name, 'CANCELLED');
  });

  test('the copy stopped at the object in flight: one CopyObject, the activity cancelled, no later step', async () => {
    assert.equal(counts['s3:CopyObject']?.count, 1, JSON.stringify(counts));
    const { events } = await run.handle.fetchHistory();
    assert.ok(
      (events ?? []).some((e) => e.activityTaskCanceledEventAttributes),
      'copyObjects was not cancelled',
    );
    assert.deepEqual(await scheduledActivities(run.handle), ['copyObjects', 'sendFailureEmail']);
  });

  test('exactly one failure email arrived, naming stage-raw and the cancellation', () => {
    assert.equal(run.emails.length, 1, run.emails.map((m) => m.subject).join('\n'));
    assert.match(run.emails[0]!.subject, /failed at stage-raw$/);
    assert.match(run.emails[0]!.text, /Cancelled/);
  });
});
