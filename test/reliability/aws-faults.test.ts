/**
 * Issue 8, AWS faults: the same pipeline runs first without faults, then with 30% of every AWS request the
 * pipeline makes (S3, Glue jobs and crawlers, Redshift Data) answered with throttling or a 5xx. Every run must
 * complete, start exactly one Glue job run, and make at most twice the fault-free run's calls, both measured here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  refreshExecutions,
  reliabilitySpec,
  secretWorkerEnv,
  temporalClient,
  totalCalls,
  withOwnJob,
} from './support';

const RUNS_PER_PHASE = mode === 'full' ? 3 : 1;
/** Share of requests faulted, split between throttling, 500 and 503. */
const FAULT_RATE = 0.3;

describe(`AWS faults (${mode}): ${FAULT_RATE * 100}% throttling and 5xx on every operation`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-faults');
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let base: PipelineSpec;
  /** Every resource of the spec (buckets, crawlers, jobs, workgroup) starts with this. */
  let prefix: string;
  const phases: Record<
    'warmup' | 'clean' | 'faulted',
    { runs: { spec: PipelineSpec; batch: Batch }[]; calls: number; failed: string[] }
  > = {
    warmup: { runs: [], calls: 0, failed: [] },
    clean: { runs: [], calls: 0, failed: [] },
    faulted: { runs: [], calls: 0, failed: [] },
  };
  let faultsFired = 0;

  async function runPhase(name: 'warmup' | 'clean' | 'faulted') {
    const phase = phases[name];
    for (let i = 0; i < RUNS_PER_PHASE; i++) {
      const spec = withOwnJob(base, `${name}${i}`);
      await provisionQuietly(spec);
      const batch = await landBatch(spec, `${name}-${i}`);
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 4 }]);
      phase.runs.push({ spec, batch });
    }
    // Only the pipeline's own calls count: set-up above is forgotten.
    await gateway.resetCounts(prefix);
    const rules =
      name === 'faulted'
        ? await Promise.all([
            gateway.addFault({
              target: '*',
              resource: prefix,
              probability: FAULT_RATE / 2,
              action: { type: 'throttle' },
            }),
            gateway.addFault({
              target: '*',
              resource: prefix,
              probability: FAULT_RATE / 4,
              action: { type: 'error', status: 500 },
            }),
            gateway.addFault({
              target: '*',
              resource: prefix,
              probability: FAULT_RATE / 4,
              action: { type: 'error', status: 503 },
            }),
          ])
        : [];
    await Promise.all(
      phase.runs.map(async ({ spec, batch }) => {
        const handle = await client.workflow.start('csvPipeline', {
          taskQueue,
          workflowId: pipelineWorkflowId(spec, batch),
          args: [{ spec, batch }],
        });
        await handle
          .result()
          .catch((err: Error) => phase.failed.push(`${batch.id}: ${err.message} ${String(err.cause)}`));
      }),
    );
    phase.calls = totalCalls(await gateway.counts(prefix));
    if (rules.length > 0) {
      const ids = new Set(rules.map((r) => r.id));
      faultsFired = (await gateway.faults()).filter((r) => ids.has(r.id)).reduce((n, r) => n + (r.fired ?? 0), 0);
      for (const id of ids) await gateway.deleteFault(id);
    }
  }

  before(
    async () => {
      base = reliabilitySpec();
      prefix = base.regions[0]!.rawBucket.replace(/-raw-0$/, '');
      await provisionQuietly(base);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      // The first run opens each region's Redshift database (seconds, polled all along): not a fair baseline.
      await runPhase('warmup');
      await runPhase('clean');
      await runPhase('faulted');
    },
    { timeout: mode === 'full' ? 1_800_000 : 900_000 },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  test('every run completes, with and without faults', () => {
    assert.deepEqual(phases.warmup.failed, []);
    assert.deepEqual(phases.clean.failed, []);
    assert.deepEqual(phases.faulted.failed, []);
  });

  test('the faults really fired', () => {
    assert.ok(faultsFired > 0, 'no fault rule fired');
  });

  test('exactly one Glue job run started and one refresh executed per run under faults', async () => {
    for (const { spec } of phases.faulted.runs) {
      const starts = (await gateway.counts(spec.transform.jobName))['glue:StartJobRun'];
      assert.equal((starts?.count ?? 0) - (starts?.faulted ?? 0), 1, spec.transform.jobName);
    }
    for (const region of base.regions) {
      const executions = await refreshExecutions(base, region.region);
      for (const { batch } of phases.faulted.runs)
        assert.equal(executions.get(batch.id), 1, `${batch.id} ${region.region}`);
    }
  });

  test('the faulted runs make at most twice the fault-free calls', () => {
    const ratio = phases.faulted.calls / phases.clean.calls;
    recordFigure('faults', {
      cleanCalls: phases.clean.calls,
      faultedCalls: phases.faulted.calls,
      faultsFired,
      callRatio: Number(ratio.toFixed(2)),
    });
    assert.ok(phases.clean.calls > 0);
    assert.ok(
      ratio <= 2,
      `${phases.faulted.calls} calls under faults vs ${phases.clean.calls} without: ${ratio.toFixed(2)}x`,
    );
  });
});
