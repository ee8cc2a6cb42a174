/**
 * Issue 8, SIGTERM during a long Glue wait: a run waits on a Glue job that runs for a while, polling less
 * often than the worker's shutdown grace (5 s in tests). The worker gets SIGTERM (as in a deploy) while the
 * wait sleeps, and a new worker starts at once. The old worker must exit without waiting out the poll and
 * without stopping the job run; the new one resumes the wait on the same job run, and the run completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { unique } from '../../devstack/testkit/stack';
import {
  secretWorkerEnv,
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  activityAttempts,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  reliabilitySpec,
  temporalClient,
  withOwnJob,
} from './support';

const HANDOFFS = mode === 'full' ? 3 : 1;
/** The wait's poll interval: longer than the shutdown grace, so SIGTERM finds the wait asleep. */
const POLL_MS = 20_000;
/** Long enough for every handoff (grace, a new worker's start, the retry) to happen while the job runs. */
const GLUE_SECONDS = 30 + HANDOFFS * 30;

describe(`SIGTERM during a long Glue wait (${mode}): graceful shutdown, a new worker takes over`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-sigterm');
  const exits: { code: number | null; pollsBefore: number; pollsAfter: number }[] = [];
  let spec: PipelineSpec;
  let workflowId: string;
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let outcome: unknown;

  before(
    async () => {
      const base = withOwnJob(reliabilitySpec(), 'sigterm');
      spec = {
        ...base,
        polling: {
          ...base.polling,
          glueJob: { initialIntervalMs: POLL_MS, maxIntervalMs: POLL_MS, backoffCoefficient: 1 },
        },
      };
      await provisionQuietly(spec);
      const batch = await landBatch(spec, 'b-sigterm');
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: GLUE_SECONDS }]);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker({ ...secretWorkerEnv(taskQueue), GLUELINE_SHUTDOWN_GRACE_SECONDS: '5' }, taskQueue);
      await worker.start();
      workflowId = unique(pipelineWorkflowId(spec, batch));
      const handle = await client.workflow.start('csvPipeline', {
        taskQueue,
        workflowId,
        args: [{ spec, batch }],
      });
      const polls = async () => (await gateway.counts(spec.transform.jobName))['glue:GetJobRun']?.count ?? 0;
      for (let i = 0; i < HANDOFFS; i++) {
        // Once the current attempt of the wait has polled, it sleeps for POLL_MS: terminate its worker then.
        const pollsBefore = await pollUntil(polls, (n) => n > i, { timeoutMs: 180_000, intervalMs: 200 });
        // Counted as the old worker exits: its replacement's retry comes 5 s (the retry interval) later.
        const pollsAtExit = worker.exited.then(polls);
        const code = await worker.replace('SIGTERM');
        exits.push({ code, pollsBefore, pollsAfter: await pollsAtExit });
      }
      outcome = await handle.result().then(
        () => 'completed',
        (err: Error) => err.message,
      );
    },
    { timeout: 600_000 },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  test('every terminated worker exited cleanly, without waiting out the sleeping poll', () => {
    assert.equal(exits.length, HANDOFFS);
    for (const exit of exits) {
      assert.equal(exit.code, 0);
      // No poll between SIGTERM and the exit: the grace did not run the sleeping wait to its next poll.
      assert.equal(exit.pollsAfter, exit.pollsBefore, JSON.stringify(exit));
    }
  });

  test('the run completes, with exactly one StartJobRun and the job run never stopped', async () => {
    assert.equal(outcome, 'completed');
    const counts = await gateway.counts(spec.transform.jobName);
    assert.equal(counts['glue:StartJobRun']?.count, 1);
    assert.equal(counts['glue:BatchStopJobRun'], undefined);
    recordFigure('sigterm', { sigterms: exits.length, sigtermStarts: counts['glue:StartJobRun']?.count ?? 0 });
  });

  test('each new worker resumed the wait in a retry, not after a heartbeat timeout', async () => {
    const attempts = await activityAttempts(client, workflowId);
    assert.equal(attempts.get('waitForGlueJobRun'), HANDOFFS + 1);
    assert.equal(attempts.get('startGlueJobRun'), 1);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const timedOut = (history.events ?? []).filter((e) => e.activityTaskTimedOutEventAttributes).length;
    assert.equal(timedOut, 0);
    recordFigure('sigterm', { sigtermWaitAttempts: attempts.get('waitForGlueJobRun') ?? 0 });
  });

  test('no secret in its history or the worker, gateway and server logs', async () => {
    await worker.stop();
    assert.deepEqual(scanScenario('sigterm', scenarioPlaces([workflowId], worker.logFile), workflowId), []);
  });
});
