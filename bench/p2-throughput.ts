/**
 * P2, throughput: many csvPipeline runs at once with instant activities on one in-process worker.
 * Pipelines/s and activities/s, the worker's (bench process's) CPU and RSS, the dev server's CPU and
 * RSS from /proc, for several worker options and the dev server's SQLite pragmas. Baseline: the first
 * configuration (SDK defaults, dev server defaults), in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type WorkerOptions } from '@temporalio/worker';
import { testInput } from '../devstack/testkit/workflow-harness';
import { instantWorker } from './instant-activities';
import { barChart, figure, fmt, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';

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

const CONFIGS: Config[] = [
  { label: 'SDK defaults, SQLite defaults', worker: {} },
  { label: 'cache 50 workflows', worker: { maxCachedWorkflows: 50 } },
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

export async function p2Throughput(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 40 : 150;
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const samples: Sample[] = [];
  let pragmas: string | undefined;
  for (const config of CONFIGS) {
    const wanted = (config.sqlitePragmas ?? []).join(',');
    if (wanted !== (pragmas ?? '')) {
      ctx.log(`p2: restarting the stack with SQLite pragmas ${wanted || '(defaults)'}`);
      ctx.stack = await ctx.restartStack({ sqlitePragmas: config.sqlitePragmas });
    }
    pragmas = wanted;
    ctx.log(`p2: ${n} pipelines at once: ${config.label}`);
    const taskQueue = `bench-p2-${Date.now().toString(36)}`;
    const {
      worker,
      connection: native,
      activities,
    } = await instantWorker(ctx.stack.temporal.address, bundle, taskQueue, config.worker);
    const { client, connection } = await stackClient(ctx.stack);
    const pid = serverPid(ctx.stackDir);
    try {
      await worker.runUntil(async () => {
        // Warm-up: one pipeline, so the bundle is loaded before the clock starts.
        await client.workflow.execute('csvPipeline', {
          taskQueue,
          workflowId: `${taskQueue}-warm`,
          args: [testInput()],
        });
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
        samples.push({
          label: config.label,
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
        });
      });
    } finally {
      await connection.close();
      await native.close();
    }
    const s = samples.at(-1)!;
    ctx.log(
      `p2: ${fmt(s.pipelinesPerSecond)} pipelines/s, worker ${fmt(s.workerCores, 2)} cores, server ${fmt(s.serverCores, 2)} cores`,
    );
  }
  if (pragmas) ctx.stack = await ctx.restartStack({});

  const base = samples[0]!;
  const best = samples.reduce((a, b) => (b.pipelinesPerSecond > a.pipelinesPerSecond ? b : a));
  // Neither side near the core count means the run waits rather than computes: for CPU that other work on the
  // machine holds (load average above the cores), or on the dev server's persistence and task dispatch.
  const cores = os.cpus().length;
  const bottleneck = (s: Sample) => {
    const busy = s.serverCores + s.workerCores;
    if (busy < 0.75 * cores && s.loadAverage > cores)
      return `CPU held by other work (load ${fmt(s.loadAverage)} on ${cores} cores; ours ${fmt(busy, 2)})`;
    if (busy < 0.75 * cores) return `latency, not CPU (${fmt(busy, 2)} of ${cores} cores busy)`;
    return s.serverCores > s.workerCores
      ? `dev server CPU (${fmt(s.serverCores, 2)} cores)`
      : `worker CPU (${fmt(s.workerCores, 2)} cores)`;
  };
  const figures = [
    figure({
      name: `P2 pipelines/s, best (${best.label})`,
      value: best.pipelinesPerSecond,
      unit: '/s',
      baselineName: base.label,
      baseline: base.pipelinesPerSecond,
      goal: '≥ 10 /s',
    }),
    figure({
      name: `P2 activities/s, best (${best.label})`,
      value: best.activitiesPerSecond,
      unit: '/s',
      baselineName: base.label,
      baseline: base.activitiesPerSecond,
    }),
  ];
  const markdown = [
    `${n} csvPipeline runs started at once (after one warm-up) on one in-process worker with instant activities`,
    `(${fmt(base.activitiesPerSecond / base.pipelinesPerSecond, 0)} activities per pipeline). Worker CPU is the bench process`,
    '(worker plus client); dev server CPU and RSS from /proc; load is the 1-minute load average at the end.',
    '',
    '| configuration | pipelines/s | × baseline | activities/s | worker cores | worker RSS (MiB) | server cores | server RSS (MiB) | server KiB written per pipeline | load | bottleneck |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...samples.map(
      (s) =>
        `| ${s.label} | ${fmt(s.pipelinesPerSecond, 2)} | ${fmt(s.pipelinesPerSecond / base.pipelinesPerSecond, 2)} | ${fmt(s.activitiesPerSecond)} | ${fmt(s.workerCores, 2)} | ${fmt(s.workerRssMiB)} | ${fmt(s.serverCores, 2)} | ${fmt(s.serverRssMiB)} | ${fmt(s.serverWriteKiBPerPipeline)} | ${fmt(s.loadAverage)} | ${bottleneck(s)} |`,
    ),
    '',
    'Pipelines per second:',
    '',
    barChart(samples.map((s) => ({ label: s.label, value: s.pipelinesPerSecond, note: fmt(s.pipelinesPerSecond, 2) }))),
  ].join('\n');
  return {
    id: 'p2',
    title: 'P2: throughput (concurrent pipelines, instant activities)',
    setup: `${n} pipelines per configuration, ${CONFIGS.length} configurations`,
    figures,
    markdown,
    raw: { samples },
  };
}
