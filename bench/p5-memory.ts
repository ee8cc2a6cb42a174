/**
 * P5, memory per open run: csvPipeline runs parked in their Glue wait on one production worker process
 * (`src/worker.ts`, its own activities, tuned from its environment): each run stages its batch, crawls, starts its
 * Glue job run (with the run-tag scan) and waits for it with heartbeats and GetJobRun against job runs the gateway
 * keeps RUNNING. The worker process's RSS growth per open run (/proc), with glueline's default tuning, with a
 * workflow cache that holds every run, and with none. Baseline: the same worker's RSS when idle, after one warm-up
 * run, in the same run. Every reading follows a full garbage collection in each of the process's isolates
 * (`gc-probe.cjs`), so it counts what the runs hold, not garbage not yet collected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateJobCommand } from '@aws-sdk/client-glue';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { landBatch } from '../devstack/testkit/scripted-pipeline';
import { repoRoot } from '../devstack/paths';
import { stackClient } from '../devstack/testkit/stack';
import { startWorker, stackWorkerEnv, waitForOutput, type WorkerProcess } from '../devstack/testkit/worker-process';
import { csvPipelineStartOptions } from '../src/starters/start-options';
import type { PipelineSpec } from '../src/workflow-safe/spec';
import { DEFAULT_MAX_CACHED_WORKFLOWS, DEFAULT_MAX_CONCURRENT_ACTIVITIES } from '../src/worker/config';
import {
  barChart,
  benchAws,
  fmt,
  median,
  medianCell,
  medianFigure,
  provisionedBenchSpec,
  type BenchContext,
  type BenchResult,
} from './support';

const MiB = 2 ** 20;

interface Measured {
  label: string;
  /** Which repetition (1-based): every configuration runs once per repetition, in turn. */
  rep: number;
  env: Record<string, string>;
  /** RSS of the worker process (bytes) after one warm-up run. */
  idle: number;
  /** Median of the samples taken while every run was parked. */
  parked: number;
  /** V8 heap in use after a full collection, all isolates together (bytes): idle and parked. */
  idleHeap: number;
  parkedHeap: number;
  parkSeconds: number;
}

/** The worker process's resident set (bytes), from /proc. */
function rssOf(worker: WorkerProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${worker.child.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/**
 * A full garbage collection in every isolate of the worker (its gc-probe), then the median of `count` RSS samples,
 * one a second, and the V8 heap in use after the collection.
 */
async function settledMemory(worker: WorkerProcess, count: number): Promise<{ rss: number; heap: number }> {
  const port = /gc-probe listening on (\d+)/.exec(worker.output())?.[1];
  if (!port) throw new Error(`p5: the worker's gc-probe never listened:\n${worker.output().slice(-3000)}`);
  const res = await fetch(`http://127.0.0.1:${port}/`);
  if (!res.ok) throw new Error(`p5: gc-probe: ${res.status} ${await res.text()}`);
  const heaps = (await res.json()) as { main: number; workers: number[] };
  const samples: number[] = [];
  for (let s = 0; s < count; s++, await sleep(1_000)) samples.push(rssOf(worker));
  return { rss: median(samples), heap: heaps.main + heaps.workers.reduce((a, b) => a + b, 0) };
}

/** The runs among `handles` whose pending activity is the Glue wait, asked 50 at a time. */
async function parkedOf(handles: WorkflowHandle[]): Promise<Set<WorkflowHandle>> {
  const parked = new Set<WorkflowHandle>();
  for (let i = 0; i < handles.length; i += 50) {
    await Promise.all(
      handles.slice(i, i + 50).map(async (h) => {
        const d = await h.describe().catch(() => undefined);
        if (d?.raw.pendingActivities?.some((a) => a.activityType?.name === 'waitForGlueJobRun')) parked.add(h);
      }),
    );
  }
  return parked;
}

/** The spec every run uses: the scripted pipeline's, provisioned, with a Glue job of its own that allows `n` runs. */
async function benchSpec(ctx: BenchContext, n: number, jobName: string): Promise<PipelineSpec> {
  const base = await provisionedBenchSpec(ctx);
  const spec: PipelineSpec = { ...base, transform: { ...base.transform, jobName } };
  await benchAws(ctx.stack)
    .glue(spec.regions[0]!.region)
    .send(
      new CreateJobCommand({
        Name: jobName,
        Role: 'arn:aws:iam::123456789012:role/glueline-bench',
        Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
        ExecutionProperty: { MaxConcurrentRuns: n + 10 },
      }),
    );
  return spec;
}

/** Starts `n` runs, 100 at a time, each with a batch of its own. */
async function startRuns(ctx: BenchContext, client: Client, spec: PipelineSpec, taskQueue: string, n: number) {
  const handles: WorkflowHandle[] = [];
  for (let i = 0; i < n; i += 100) {
    const ids = Array.from({ length: Math.min(100, n - i) }, (_, j) => `${taskQueue}-${i + j}`);
    const batches = await Promise.all(ids.map((id) => landBatch(spec, id, ctx.stack)));
    handles.push(
      ...(await Promise.all(
        batches.map((batch) =>
          client.workflow.start('csvPipeline', csvPipelineStartOptions({ spec, batch }, { taskQueue })),
        ),
      )),
    );
  }
  return handles;
}

/**
 * One configuration: a fresh worker process, one warm-up run, then `n` runs parked; memory idle and parked, each the
 * median of `samples` RSS readings.
 */
async function measureConfig(
  ctx: BenchContext,
  client: Client,
  config: { label: string; env: Record<string, string> },
  { n, rep, samples }: { n: number; rep: number; samples: number },
): Promise<Measured> {
  const suffix = `${Date.now().toString(36)}-${rep}`;
  const spec = await benchSpec(ctx, n, `bench-p5-${suffix}`);
  const region = spec.regions[0]!.region;
  // The warm-up run's job run ends at once; every other stays RUNNING.
  await ctx.gateway.scriptJobRuns(
    spec.transform.jobName,
    [{ state: 'SUCCEEDED', afterSeconds: 0.5 }, ...Array.from({ length: n }, () => ({ state: 'RUNNING' as const }))],
    region,
  );
  const taskQueue = `bench-p5-${suffix}`;
  const probe = path.join(repoRoot, 'bench/gc-probe.cjs');
  const worker = startWorker(stackWorkerEnv(taskQueue, config.env, ctx.stack), 'src/worker.ts', ['--require', probe]);
  let handles: WorkflowHandle[] = [];
  try {
    await waitForOutput(worker, 'glueline worker started', 120_000);
    const warm = await landBatch(spec, `${taskQueue}-warm`, ctx.stack);
    const start = csvPipelineStartOptions({ spec, batch: warm, options: { stopAfter: 'transform' } }, { taskQueue });
    await client.workflow.execute('csvPipeline', start);
    await sleep(3_000);
    const idle = await settledMemory(worker, samples);
    ctx.log(`p5: rep ${rep}: ${config.label}: parking ${n} csvPipeline runs in their Glue wait`);
    const t0 = performance.now();
    handles = await startRuns(ctx, client, spec, taskQueue, n);
    let waiting = handles;
    for (const end = Date.now() + 1_800_000; waiting.length > 0; await sleep(2_000)) {
      if (Date.now() > end || worker.child.exitCode !== null)
        throw new Error(`p5: ${waiting.length} of ${n} runs never parked:\n${worker.output().slice(-3000)}`);
      const parked = await parkedOf(waiting);
      waiting = waiting.filter((h) => !parked.has(h));
    }
    const parkSeconds = (performance.now() - t0) / 1000;
    const parked = await settledMemory(worker, samples);
    const measured: Measured = {
      ...config,
      rep,
      idle: idle.rss,
      parked: parked.rss,
      idleHeap: idle.heap,
      parkedHeap: parked.heap,
      parkSeconds,
    };
    ctx.log(
      `p5: rep ${rep}: ${config.label}: ${fmt((parked.rss - idle.rss) / MiB)} MiB RSS, ` +
        `${fmt((parked.heap - idle.heap) / MiB)} MiB V8 heap for ${n} runs`,
    );
    return measured;
  } finally {
    for (let i = 0; i < handles.length; i += 100)
      await Promise.all(handles.slice(i, i + 100).map((h) => h.terminate('bench p5 done').catch(() => undefined)));
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
}

export async function p5Memory(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 150 : 1000;
  const reps = 3;
  const configs: { label: string; env: Record<string, string> }[] = [
    {
      label: `cache holds every run (${n + 20})`,
      env: { GLUELINE_MAX_CACHED_WORKFLOWS: String(n + 20), GLUELINE_MAX_CONCURRENT_ACTIVITIES: String(n + 20) },
    },
    {
      label: `glueline defaults (cache ${DEFAULT_MAX_CACHED_WORKFLOWS}, ${DEFAULT_MAX_CONCURRENT_ACTIVITIES} activity slots)`,
      env: {},
    },
    // Nothing of the run stays on the worker but its heartbeating wait: what an activity slot costs.
    { label: 'no workflow cache (0)', env: { GLUELINE_MAX_CACHED_WORKFLOWS: '0' } },
  ];
  const samples = ctx.quick ? 10 : 20;
  const { client, connection } = await stackClient(ctx.stack);
  const measured: Measured[] = [];
  try {
    for (let rep = 1; rep <= reps; rep++)
      for (const config of configs) measured.push(await measureConfig(ctx, client, config, { n, rep, samples }));
  } finally {
    await connection.close();
  }
  return report(
    configs.map((c) => c.label),
    measured,
    { n, reps, samples },
  );
}

function report(
  labels: string[],
  measured: Measured[],
  { n, reps, samples }: { n: number; reps: number; samples: number },
): BenchResult {
  const perRunKiB = (m: Measured) => (m.parked - m.idle) / 1024 / n;
  const heapPerRunKiB = (m: Measured) => (m.parkedHeap - m.idleHeap) / 1024 / n;
  /** The repetitions of the configuration `labels[c]`, by repetition. */
  const of = (c: number) => measured.filter((m) => m.label === labels[c]);
  const [all, tuned, uncached] = [of(0), of(1), of(2)];
  // A cached run's cost in each repetition: the cache holding every run against no cache, both of that repetition,
  // each measured from its own process's idle reading.
  const cached = (perRun: (m: Measured) => number) =>
    all.map((a) => perRun(a) - perRun(uncached.find((u) => u.rep === a.rep)!));
  const cachedKiB = cached(perRunKiB);
  const figures = [
    medianFigure({
      name: `P5 worker RSS per open csvPipeline run in its Glue wait, glueline defaults (${n} runs)`,
      values: tuned.map(perRunKiB),
      unit: 'KiB',
      baselineName: 'cache holding every run',
      baselines: all.map(perRunKiB),
      goal: '≤ 1024 KiB',
    }),
    medianFigure({
      name: 'P5 worker RSS per cached run (cache holding every run minus no cache, per run)',
      values: cachedKiB,
      unit: 'KiB',
      baselineName: 'per open run without a workflow cache',
      baselines: uncached.map(perRunKiB),
      goal: '≤ 1024 KiB',
    }),
    medianFigure({
      name: 'P5 V8 heap per cached run, all isolates after a full collection (cache holding every run minus no cache)',
      values: cached(heapPerRunKiB),
      unit: 'KiB',
      baselineName: 'per open run without a workflow cache',
      baselines: uncached.map(heapPerRunKiB),
    }),
    medianFigure({
      name: `P5 worker RSS with ${n} runs parked, glueline defaults`,
      values: tuned.map((m) => m.parked / MiB),
      unit: 'MiB',
      baselineName: 'the same worker idle',
      baselines: tuned.map((m) => m.idle / MiB),
    }),
  ];
  const markdown = [
    `${n} csvPipeline runs parked at once in their Glue wait on the production worker process (\`src/worker.ts\`, its`,
    'own activities): each run stages a batch, crawls, starts its Glue job run (after the run-tag scan) and waits for it',
    `(heartbeats, GetJobRun on the default schedule against job runs the gateway keeps RUNNING). ${reps} repetitions, in`,
    'each every configuration in turn, each in a fresh process on its own task queue and Glue job. Idle: after one',
    `warm-up run; parked: once every run was in its wait. Each reading is a full garbage collection in every isolate of`,
    `the process (main thread and worker threads, through the inspector: \`bench/gc-probe.cjs\`), then the median of`,
    `${samples} samples (one a second, /proc VmRSS); the V8 heap is what the isolates use after that collection.`,
    'Medians of the repetitions, with min–max and n.',
    '',
    '| configuration | idle RSS (MiB) | parked RSS (MiB) | KiB RSS per run | KiB V8 heap per run | seconds to park all |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...labels.map((label, c) => {
      const ms = of(c);
      return `| ${label} | ${medianCell(ms.map((m) => m.idle / MiB))} | ${medianCell(ms.map((m) => m.parked / MiB))} | ${medianCell(ms.map(perRunKiB))} | ${medianCell(ms.map(heapPerRunKiB))} | ${medianCell(ms.map((m) => m.parkSeconds))} |`;
    }),
    '',
    `A cached run costs about ${fmt(median(cachedKiB))} KiB of RSS (${fmt(median(cached(heapPerRunKiB)))} KiB of V8 heap) more`,
    'than an evicted one (cache holding every run against no cache, in the same repetition); an evicted run parked in',
    'its wait costs only its heartbeating activity.',
    '',
    'KiB of worker RSS per open run (median):',
    '',
    barChart(
      labels.map((label, c) => {
        const kib = median(of(c).map(perRunKiB));
        return { label, value: Math.max(0, kib), note: fmt(kib) };
      }),
    ),
  ].join('\n');
  return {
    id: 'p5',
    title: 'P5: memory per open run (production worker)',
    setup: `${n} runs parked at once, per configuration; ${reps} interleaved repetitions`,
    figures,
    markdown,
    raw: { n, measured },
  };
}
