/**
 * P2, throughput: many csvPipeline runs at once with instant activities on one in-process worker.
 * Pipelines/s and activities/s, the worker's (bench process's) CPU and RSS, the dev server's CPU and
 * RSS from /proc, for several worker options and the dev server's SQLite pragmas. The configurations on one
 * dev-server database take turns within each repetition (interleaved), so load from other work falls on all
 * alike; figures are medians with min–max. Headline: glueline's worker defaults against the SDK's defaults.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bundleWorkflowCode,
  DefaultLogger,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { testInput } from '../devstack/testkit/workflow-harness';
import { instantWorker } from './instant-activities';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_CACHED_WORKFLOWS,
  DEFAULT_MAX_CONCURRENT_ACTIVITIES,
} from '../src/worker/config';
import { tuningOptions } from '../src/worker';
import { barChart, fmt, median, medianCell, medianFigure, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';
import { STACK_SQLITE_PRAGMAS } from '../devstack/stack';
import { WORKFLOW_PRELOAD_MODULES } from '../src/worker/workflow-bundle';

interface Config {
  label: string;
  worker: Partial<WorkerOptions>;
  sqlitePragmas?: string[];
}

const TUNED: Partial<WorkerOptions> = {
  maxConcurrentWorkflowTaskExecutions: 100,
  maxConcurrentWorkflowTaskPolls: 20,
  maxConcurrentActivityTaskExecutions: 200,
  maxConcurrentActivityTaskPolls: 20,
  maxCachedWorkflows: 1000,
};

/** What src/worker.ts runs with when nothing is set in its environment. */
const GLUELINE_DEFAULTS = tuningOptions({
  maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
  maxConcurrentActivityTaskExecutions: DEFAULT_MAX_CONCURRENT_ACTIVITIES,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
});

const SDK_DEFAULTS = 'SDK defaults, SQLite defaults';
const GLUELINE = `glueline worker defaults (cache ${DEFAULT_MAX_CACHED_WORKFLOWS}, ${DEFAULT_MAX_CONCURRENT_ACTIVITIES} activity slots)`;

/** In groups of one dev-server configuration each (a stack restart between groups); first group first. */
const CONFIGS: Config[] = [
  { label: SDK_DEFAULTS, worker: {} },
  { label: GLUELINE, worker: GLUELINE_DEFAULTS },
  { label: 'tuned worker (WFT 100, polls 20, cache 1000)', worker: TUNED },
  {
    label: 'tuned worker + journal_mode=wal, synchronous=NORMAL',
    worker: TUNED,
    sqlitePragmas: ['journal_mode=wal', 'synchronous=1'],
  },
  {
    label: 'tuned worker + journal_mode=wal, synchronous=OFF',
    worker: TUNED,
    sqlitePragmas: ['journal_mode=wal', 'synchronous=0'],
  },
];

interface Sample {
  label: string;
  /** Which repetition (1-based): every configuration of a group runs once per repetition, in turn. */
  rep: number;
  pipelines: number;
  seconds: number;
  pipelinesPerSecond: number;
  activitiesPerSecond: number;
  /** Cores used by the bench process (worker and client) during the run. */
  workerCores: number;
  workerRssMiB: number;
  serverCores: number;
  serverRssMiB: number;
  /** Bytes the dev server wrote to storage per pipeline (/proc/<pid>/io write_bytes). */
  serverWriteKiBPerPipeline: number;
  /** The machine's 1-minute load average at the end: above the core count, other work competed for CPU. */
  loadAverage: number;
}

const TICKS_PER_SECOND = 100;
function procCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
function procRssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}
function procWriteBytes(pid: number): number {
  const m = /^write_bytes: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(m?.[1] ?? 0);
}
/** The dev server's pid: the `temporal` part the stack recorded, or its child server process. */
function serverPid(stackDir: string): number {
  const parts = JSON.parse(fs.readFileSync(path.join(stackDir, 'pids.json'), 'utf8')) as {
    name: string;
    pid: number;
  }[];
  return parts.find((p) => p.name === 'temporal')!.pid;
}

/** One sample: `n` pipelines at once on a fresh worker with `config`'s options, after one warm-up pipeline. */
async function sample(
  ctx: BenchContext,
  bundle: WorkflowBundleWithSourceMap,
  config: Config,
  n: number,
  rep: number,
): Promise<Sample> {
  const taskQueue = `bench-p2-${Date.now().toString(36)}`;
  const {
    worker,
    connection: native,
    activities,
  } = await instantWorker(ctx.stack.temporal.address, bundle, taskQueue, config.worker);
  const { client, connection } = await stackClient(ctx.stack);
  const pid = serverPid(ctx.stackDir);
  try {
    return await worker.runUntil(async () => {
      // Warm-up: one pipeline, so the bundle is loaded before the clock starts.
      await client.workflow.execute('csvPipeline', { taskQueue, workflowId: `${taskQueue}-warm`, args: [testInput()] });
      const callsBefore = activities.calls.length;
      const cpu0 = process.cpuUsage();
      const server0 = procCpuSeconds(pid);
      const written0 = procWriteBytes(pid);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          client.workflow.execute('csvPipeline', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [testInput()] }),
        ),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      return {
        label: config.label,
        rep,
        pipelines: n,
        seconds,
        pipelinesPerSecond: n / seconds,
        activitiesPerSecond: (activities.calls.length - callsBefore) / seconds,
        workerCores: (cpu.user + cpu.system) / 1e6 / seconds,
        workerRssMiB: process.memoryUsage().rss / 2 ** 20,
        serverCores: (procCpuSeconds(pid) - server0) / seconds,
        serverRssMiB: procRssMiB(pid),
        serverWriteKiBPerPipeline: (procWriteBytes(pid) - written0) / 1024 / n,
        loadAverage: os.loadavg()[0]!,
      };
    });
  } finally {
    await connection.close();
    await native.close();
  }
}

export async function p2Throughput(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 40 : 150;
  const reps = ctx.quick ? 3 : 5;
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    preloadModules: WORKFLOW_PRELOAD_MODULES,
    logger: new DefaultLogger('WARN'),
  });
  const samples: Sample[] = [];
  const groups = new Map<string, Config[]>();
  for (const c of CONFIGS) {
    const key = (c.sqlitePragmas ?? []).join(',');
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  // The stack starts with its own pragmas: the first group restarts it unless it wants those.
  let pragmas = STACK_SQLITE_PRAGMAS.join(',');
  for (const [wanted, configs] of groups) {
    if (wanted !== pragmas) {
      ctx.log(`p2: restarting the stack with SQLite pragmas ${wanted || '(defaults)'}`);
      ctx.stack = await ctx.restartStack({ sqlitePragmas: wanted ? wanted.split(',') : [] });
    }
    pragmas = wanted;
    for (let rep = 1; rep <= reps; rep++) {
      for (const config of configs) {
        const s = await sample(ctx, bundle, config, n, rep);
        samples.push(s);
        ctx.log(
          `p2: rep ${rep}/${reps}, ${n} pipelines at once, ${config.label}: ${fmt(s.pipelinesPerSecond)} pipelines/s, worker ${fmt(s.workerCores, 2)} cores, server ${fmt(s.serverCores, 2)} cores`,
        );
      }
    }
  }
  if (pragmas) ctx.stack = await ctx.restartStack({});

  return report(samples, n, reps);
}

/** Per-configuration medians (min–max) of the interleaved repetitions; glueline's defaults against the SDK's. */
function report(samples: Sample[], n: number, reps: number): BenchResult {
  const of = (label: string) => samples.filter((s) => s.label === label);
  const med = (label: string, k: keyof Sample) => median(of(label).map((s) => s[k] as number));
  const cell = (label: string, k: keyof Sample) => medianCell(of(label).map((s) => s[k] as number));
  // Neither side near the core count means the run waits rather than computes: for CPU that other work on the
  // machine holds (load average above the cores), or on the dev server's persistence and task dispatch.
  const cores = os.cpus().length;
  const bottleneck = (label: string) => {
    const [server, worker, load] = [med(label, 'serverCores'), med(label, 'workerCores'), med(label, 'loadAverage')];
    const busy = server + worker;
    if (busy < 0.75 * cores && load > cores)
      return `CPU held by other work (load ${fmt(load)} on ${cores} cores; ours ${fmt(busy, 2)})`;
    if (busy < 0.75 * cores) return `latency, not CPU (${fmt(busy, 2)} of ${cores} cores busy)`;
    return server > worker ? `dev server CPU (${fmt(server, 2)} cores)` : `worker CPU (${fmt(worker, 2)} cores)`;
  };
  const values = (label: string, k: keyof Sample) => of(label).map((s) => s[k] as number);
  const figures = [
    medianFigure({
      name: `P2 pipelines/s, ${GLUELINE}`,
      values: values(GLUELINE, 'pipelinesPerSecond'),
      unit: '/s',
      baselineName: SDK_DEFAULTS,
      baselines: values(SDK_DEFAULTS, 'pipelinesPerSecond'),
      goal: '≥ 10 /s',
    }),
    medianFigure({
      name: `P2 activities/s, ${GLUELINE}`,
      values: values(GLUELINE, 'activitiesPerSecond'),
      unit: '/s',
      baselineName: SDK_DEFAULTS,
      baselines: values(SDK_DEFAULTS, 'activitiesPerSecond'),
    }),
  ];
  const baseRate = med(SDK_DEFAULTS, 'pipelinesPerSecond');
  const markdown = [
    `${n} csvPipeline runs started at once (after one warm-up) on one in-process worker with instant activities`,
    `(${fmt(med(SDK_DEFAULTS, 'activitiesPerSecond') / baseRate, 0)} activities per pipeline), ${reps} repetitions: the`,
    'configurations on one dev-server database take turns within each repetition (the SQLite pragma groups need a',
    'restart each, so they are interleaved within their group only). Medians with min–max and n. Worker CPU is the',
    'bench process (worker plus client); dev server CPU and RSS from /proc; load is the 1-minute load average at the end.',
    '',
    '| configuration | pipelines/s | × SDK defaults | activities/s | worker cores | worker RSS (MiB) | server cores | server RSS (MiB) | server KiB written per pipeline | load | bottleneck |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...CONFIGS.map(
      ({ label }) =>
        `| ${label} | ${cell(label, 'pipelinesPerSecond')} | ${fmt(med(label, 'pipelinesPerSecond') / baseRate, 2)} | ${cell(label, 'activitiesPerSecond')} | ${fmt(med(label, 'workerCores'), 2)} | ${fmt(med(label, 'workerRssMiB'))} | ${fmt(med(label, 'serverCores'), 2)} | ${fmt(med(label, 'serverRssMiB'))} | ${fmt(med(label, 'serverWriteKiBPerPipeline'))} | ${fmt(med(label, 'loadAverage'))} | ${bottleneck(label)} |`,
    ),
    '',
    'Pipelines per second (median):',
    '',
    barChart(
      CONFIGS.map(({ label }) => ({
        label,
        value: med(label, 'pipelinesPerSecond'),
        note: cell(label, 'pipelinesPerSecond'),
      })),
    ),
  ].join('\n');
  return {
    id: 'p2',
    title: 'P2: throughput (concurrent pipelines, instant activities)',
    setup: `${n} pipelines per sample, ${CONFIGS.length} configurations × ${reps} interleaved repetitions`,
    figures,
    markdown,
    raw: { samples },
  };
}
