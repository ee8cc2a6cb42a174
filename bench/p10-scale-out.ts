/**
 * P10, scale-out: the same batch of csvPipeline runs on one production worker process (`src/worker.ts`) and on
 * two on one task queue; throughput, and how evenly the two split the work (the step-end lines each one logged: a
 * workflow task runs on the worker that has the run cached, and the activities it schedules are dispatched to that
 * worker eagerly). Then two again, one SIGKILLed once a third of the runs have completed: the other must finish
 * every run. Each run's Glue job is scripted to succeed after a few seconds, its crawls after 1 s.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { landBatch } from '../devstack/testkit/scripted-pipeline';
import { stackClient } from '../devstack/testkit/stack';
import { startWorker, stackWorkerEnv, waitForOutput, type WorkerProcess } from '../devstack/testkit/worker-process';
import { csvPipelineStartOptions } from '../src/starters/start-options';
import type { PipelineSpec } from '../src/workflow-safe/spec';
import { barChart, figure, fmt, provisionedBenchSpec, type BenchContext, type BenchResult } from './support';

const JOB_SECONDS = 5;

interface Sample {
  label: string;
  workers: number;
  runs: number;
  seconds: number;
  runsPerMinute: number;
  /** Step ends each worker logged, in start order. */
  stepEnds: number[];
  /** Runs that completed; for the kill case, also when the kill came and which worker survived. */
  completed: number;
  killedAfterSeconds?: number;
}

/** Step-end lines (`step <name> succeeded`) a worker logged. */
const stepEnds = (w: WorkerProcess) => (w.output().match(/step [\w-]+ (succeeded|failed|cancelled)/g) ?? []).length;

async function runBatch(
  ctx: BenchContext,
  client: Client,
  spec: PipelineSpec,
  label: string,
  workers: number,
  runs: number,
  kill: boolean,
): Promise<Sample> {
  const taskQueue = `bench-p10-${Date.now().toString(36)}`;
  const procs = Array.from({ length: workers }, () => startWorker(stackWorkerEnv(taskQueue, {}, ctx.stack)));
  try {
    for (const w of procs) await waitForOutput(w, 'glueline worker started', 120_000);
    await ctx.gateway.scriptJobRuns(
      spec.transform.jobName,
      Array.from({ length: runs }, () => ({ state: 'SUCCEEDED' as const, afterSeconds: JOB_SECONDS })),
    );
    const batches = await Promise.all(
      Array.from({ length: runs }, (_, i) => landBatch(spec, `${taskQueue}-${i}`, ctx.stack)),
    );
    ctx.log(`p10: ${label}: ${runs} runs`);
    const t0 = performance.now();
    const handles: WorkflowHandle[] = await Promise.all(
      batches.map((batch) =>
        client.workflow.start('csvPipeline', csvPipelineStartOptions({ spec, batch }, { taskQueue })),
      ),
    );
    let completed = 0;
    let killedAfterSeconds: number | undefined;
    await Promise.all(
      handles.map(async (h) => {
        await h.result();
        completed++;
        if (kill && killedAfterSeconds === undefined && completed >= runs / 3) {
          killedAfterSeconds = (performance.now() - t0) / 1000;
          ctx.log(`p10: ${label}: SIGKILL to the first worker after ${completed} runs completed`);
          procs[0]!.child.kill('SIGKILL');
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return {
      label,
      workers,
      runs,
      seconds,
      runsPerMinute: (60 * runs) / seconds,
      stepEnds: procs.map(stepEnds),
      completed,
      ...(killedAfterSeconds !== undefined ? { killedAfterSeconds } : {}),
    };
  } finally {
    for (const w of procs) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await Promise.all(procs.map((w) => w.exited));
  }
}

export async function p10ScaleOut(ctx: BenchContext): Promise<BenchResult> {
  const runs = ctx.quick ? 12 : 40;
  // A worker killed mid-wait is noticed after the heartbeat timeout: 10 s rather than the default 2 minutes.
  const base = await provisionedBenchSpec(ctx);
  const spec: PipelineSpec = { ...base, timeouts: { ...base.timeouts, heartbeatSeconds: 10 } };
  const { client, connection } = await stackClient(ctx.stack);
  const samples: Sample[] = [];
  try {
    samples.push(await runBatch(ctx, client, spec, 'one worker process', 1, runs, false));
    samples.push(await runBatch(ctx, client, spec, 'two worker processes', 2, runs, false));
    samples.push(await runBatch(ctx, client, spec, 'two, the first SIGKILLed a third of the way', 2, runs, true));
  } finally {
    await connection.close();
  }
  return report(samples, runs);
}

function report(samples: Sample[], runs: number): BenchResult {
  const [one, two, killed] = samples as [Sample, Sample, Sample];
  const share = (s: Sample) =>
    Math.max(...s.stepEnds) /
    Math.max(
      1,
      s.stepEnds.reduce((a, b) => a + b, 0),
    );
  const figures = [
    figure({
      name: `P10 throughput, two worker processes on one task queue (${runs} runs)`,
      value: two.runsPerMinute,
      unit: 'runs/min',
      baselineName: 'one worker process',
      baseline: one.runsPerMinute,
    }),
    figure({
      name: "P10 the busier worker's share of the step ends, two worker processes",
      value: 100 * share(two),
      unit: '%',
      baselineName: 'an even split',
      baseline: 50,
    }),
    figure({
      name: 'P10 runs completed with one of two workers SIGKILLed mid-batch',
      value: killed.completed,
      unit: 'runs',
      baselineName: 'runs started',
      baseline: runs,
      goal: 'all',
    }),
  ];
  const markdown = [
    `${runs} csvPipeline runs started at once (Glue job ${JOB_SECONDS} s, crawls 1 s, the local Redshift refresh) on production`,
    'worker processes (`src/worker.ts`) sharing one task queue; the spec waits 10 s for a heartbeat. The split is the',
    "step-end lines each worker logged (a run's workflow tasks go to the worker that has it cached, and the activities",
    'they schedule are dispatched to that worker eagerly). The kill: SIGKILL to the first worker once a third of the runs',
    'had completed; the other worker takes over its runs after the sticky queue timeout and its waits after the heartbeat timeout.',
    '',
    '| configuration | seconds | runs/min | runs completed | step ends per worker | killed after (s) |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
    ...samples.map(
      (s) =>
        `| ${s.label} | ${fmt(s.seconds)} | ${fmt(s.runsPerMinute)} | ${s.completed} of ${s.runs} | ${s.stepEnds.join(' / ')} | ${s.killedAfterSeconds !== undefined ? fmt(s.killedAfterSeconds) : ''} |`,
    ),
    '',
    'Runs per minute:',
    '',
    barChart(samples.map((s) => ({ label: s.label, value: s.runsPerMinute }))),
  ].join('\n');
  return {
    id: 'p10',
    title: 'P10: scale-out (two worker processes on one task queue)',
    setup: `${runs} runs per configuration; one worker, two, two with one killed`,
    figures,
    markdown,
    raw: { runs, samples },
  };
}
