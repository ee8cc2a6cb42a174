/**
 * Issue 8 and 15, AWS faults: the same pipeline runs first without faults, then under one rule that fires on 30% of
 * every AWS request the pipeline makes in its regions (S3, Glue jobs and crawlers, Redshift Data; resource-less
 * requests such as GetCrawlerMetrics matched by region), each time drawing one of throttling, 500, 503, a dropped
 * connection, a stall, or a failure after the request took effect. The faulted runs go on in rounds until every
 * operation the fault-free runs used was faulted at least once. Every run must complete with exactly one Glue job run
 * and one refresh per region, at most twice the fault-free run's calls; the measured fault rate is reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetJobRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import type { Client, Connection } from '@temporalio/client';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { RequestCounts } from '../../devstack/gateway/counts';
import type { FaultAction } from '../../devstack/gateway/faults';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  refreshExecutions,
  reliabilitySpec,
  secretWorkerEnv,
  temporalClient,
  withOwnJob,
} from './support';

/** Runs at once in a phase (and in each faulted round). */
const RUNS_PER_PHASE = mode === 'full' ? 5 : 2;
/** Faulted rounds at most: they go on until every operation was faulted (a 0.7^(rounds × runs) chance it was not). */
const MAX_FAULTED_ROUNDS = mode === 'full' ? 4 : 8;
/** Share of requests the rule fires on. */
const FAULT_RATE = 0.3;
/** Every kind of fault, drawn with equal chance each time the rule fires. */
const MIX: FaultAction[] = [
  { type: 'throttle' },
  { type: 'error', status: 500 },
  { type: 'error', status: 503 },
  { type: 'drop' },
  // A stall: the request waits, then is served as usual.
  { type: 'latency', ms: 2_000 },
  { type: 'after', then: 500 },
  { type: 'after', then: 'drop' },
];

type Phase = 'warmup' | 'clean' | 'faulted';

/** Counts of the spec's resources and of its regions' resource-less requests, summed by operation. */
function sumCounts(all: RequestCounts[]): RequestCounts {
  const sum: RequestCounts = {};
  for (const counts of all) {
    for (const [op, c] of Object.entries(counts)) {
      const s = (sum[op] ??= { count: 0, faulted: 0 });
      s.count += c.count;
      s.faulted += c.faulted;
      if (c.stalled) s.stalled = (s.stalled ?? 0) + c.stalled;
    }
  }
  return sum;
}

const calls = (counts: RequestCounts) => Object.values(counts).reduce((n, c) => n + c.count, 0);

describe(`AWS faults (${mode}): one ${FAULT_RATE * 100}% rule mixing every kind of fault, on every operation`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-faults');
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let base: PipelineSpec;
  /** Every resource of the spec (buckets, crawlers, jobs, workgroup) starts with this. */
  let prefix: string;
  const runs: Record<Phase, { spec: PipelineSpec; batch: Batch }[]> = { warmup: [], clean: [], faulted: [] };
  const failed: Record<Phase, string[]> = { warmup: [], clean: [], faulted: [] };
  const counts: Record<Phase, RequestCounts> = { warmup: {}, clean: {}, faulted: {} };
  let faultsFired = 0;
  let faultedRounds = 0;

  const scopeCounts = async () =>
    sumCounts(await Promise.all([prefix, ...base.regions.map((r) => `@${r.region}`)].map((p) => gateway.counts(p))));
  const resetScope = async () => {
    for (const p of [prefix, ...base.regions.map((r) => `@${r.region}`)]) await gateway.resetCounts(p);
  };
  /** Operations the fault-free runs used that no fault has hit yet. */
  const unfaulted = () =>
    Object.keys(counts.clean).filter((op) => {
      const c = counts.faulted[op];
      return !c || c.faulted + (c.stalled ?? 0) === 0;
    });

  /** Starts RUNS_PER_PHASE runs at once and waits for them; returns the counts of their requests. */
  async function runRound(phase: Phase, round: number): Promise<RequestCounts> {
    const mine: { spec: PipelineSpec; batch: Batch }[] = [];
    for (let i = 0; i < RUNS_PER_PHASE; i++) {
      const spec = withOwnJob(base, `${phase}${round}x${i}`);
      await provisionQuietly(spec);
      const batch = await landBatch(spec, `${phase}-${round}-${i}`);
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 4 }]);
      mine.push({ spec, batch });
    }
    // Only the pipeline's own calls count: set-up above is forgotten.
    await resetScope();
    const rule =
      phase === 'faulted'
        ? await gateway.addFault({
            target: '*',
            resource: prefix,
            region: base.regions.map((r) => r.region),
            probability: FAULT_RATE,
            action: { type: 'mix', actions: MIX },
          })
        : undefined;
    let roundCounts: RequestCounts;
    try {
      await Promise.all(
        mine.map(async ({ spec, batch }) => {
          const handle = await client.workflow.start('csvPipeline', {
            taskQueue,
            workflowId: pipelineWorkflowId(spec, batch),
            args: [{ spec, batch }],
          });
          await handle
            .result()
            .catch((err: Error) => failed[phase].push(`${batch.id}: ${err.message} ${String(err.cause)}`));
        }),
      );
      roundCounts = await scopeCounts();
    } finally {
      // Removed even when the round throws: the rule also matches resource-less operations in these regions,
      // so left behind it would fault the next scenario's calls.
      if (rule) {
        faultsFired += (await gateway.faults()).find((r) => r.id === rule.id)?.fired ?? 0;
        await gateway.deleteFault(rule.id);
      }
    }
    runs[phase].push(...mine);
    counts[phase] = sumCounts([counts[phase], roundCounts]);
    return roundCounts;
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
      await runRound('warmup', 0);
      await runRound('clean', 0);
      // Rounds until every operation the clean runs used was faulted (or the rounds run out: the test says which).
      while (faultedRounds < MAX_FAULTED_ROUNDS && (faultedRounds === 0 || unfaulted().length > 0)) {
        await runRound('faulted', faultedRounds++);
      }
    },
    { timeout: mode === 'full' ? 3_600_000 : 1_800_000 },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  test('every run completes, with and without faults', () => {
    assert.deepEqual(failed.warmup, []);
    assert.deepEqual(failed.clean, []);
    assert.deepEqual(failed.faulted, []);
  });

  test('every operation the pipeline uses was faulted at least once, resource-less ones too', () => {
    const used = Object.keys(counts.clean);
    assert.ok(used.includes('glue:GetCrawlerMetrics'), `GetCrawlerMetrics is among ${used.join(', ')}`);
    recordFigure('faults', { operations: used.length, operationsFaulted: used.length - unfaulted().length });
    assert.deepEqual(unfaulted(), [], `after ${faultedRounds} rounds: ${JSON.stringify(counts.faulted)}`);
  });

  test('the measured fault rate is the rule’s 30%', () => {
    const requests = calls(counts.faulted);
    const rate = faultsFired / requests;
    recordFigure('faults', {
      faultRate: `${(rate * 100).toFixed(1)}% (${faultsFired} faults / ${requests} requests)`,
      faultedRuns: runs.faulted.length,
      cleanRuns: runs.clean.length,
    });
    // Hundreds of requests: 20% to 40% is several standard deviations either side.
    assert.ok(rate > 0.2 && rate < 0.4, `${faultsFired} faults in ${requests} requests: ${rate}`);
  });

  test('exactly one Glue job run and one refresh per region for every faulted run', async () => {
    const glue = new GlueClient(awsClientConfig(primaryRegion(base).region));
    after(() => glue.destroy());
    for (const { spec } of runs.faulted) {
      const { JobRuns } = await glue.send(new GetJobRunsCommand({ JobName: spec.transform.jobName }));
      assert.equal(JobRuns?.length, 1, `job runs of ${spec.transform.jobName}`);
    }
    for (const region of base.regions) {
      const executions = await refreshExecutions(base, region.region);
      for (const { batch } of runs.faulted) assert.equal(executions.get(batch.id), 1, `${batch.id} ${region.region}`);
    }
  });

  test('the faulted runs make at most twice the fault-free calls, per run', () => {
    const perRun = (phase: Phase) => calls(counts[phase]) / runs[phase].length;
    const ratio = perRun('faulted') / perRun('clean');
    recordFigure('faults', {
      cleanCalls: Math.round(perRun('clean')),
      faultedCalls: Math.round(perRun('faulted')),
      faultsFired,
      callRatio: Number(ratio.toFixed(2)),
    });
    assert.ok(perRun('clean') > 0);
    assert.ok(ratio <= 2, `${perRun('faulted')} calls a run under faults vs ${perRun('clean')} without: ${ratio}x`);
  });

  test('no secret in any history or the worker, gateway and server logs', async () => {
    await worker.stop();
    const ids = [...runs.warmup, ...runs.clean, ...runs.faulted].map((r) => pipelineWorkflowId(r.spec, r.batch));
    assert.deepEqual(scanScenario('faults', scenarioPlaces(ids, worker.logFile), ids[0]!), []);
  });
});
