/**
 * P5, memory per open run: csvPipeline runs parked in their Glue wait (the real waitForGlueJobRun, heartbeating
 * and polling job runs the gateway keeps RUNNING) on one worker process (`bench/p5-worker.ts`, tuned from its
 * environment like `src/worker.ts`); the process's RSS growth per open run, under glueline's default tuning and
 * with a workflow cache that holds every run (the SDK's default on this machine) and with none. Baseline: the same worker's
 * RSS when idle, after one warm-up run, in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateJobCommand } from '@aws-sdk/client-glue';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { DEFAULT_MAX_CACHED_WORKFLOWS, DEFAULT_MAX_CONCURRENT_ACTIVITIES } from '../src/worker/config';
import { startWorker, stackWorkerEnv, waitForOutput, type WorkerProcess } from '../devstack/testkit/worker-process';
import { testInput } from '../devstack/testkit/workflow-harness';
import { barChart, benchAws, figure, fmt, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';

const MiB = 2 ** 20;

interface Memory {
  openWaits: number;
  rss: number;
  heapUsed: number;
  external: number;
}

interface Measured {
  label: string;
  env: Record<string, string>;
  idle: Memory;
  /** Mean of the samples taken while every run was parked. */
  parked: Memory;
  parkSeconds: number;
}

/** The worker's last `p5 memory` line. */
function lastMemory(worker: WorkerProcess): Memory | undefined {
  const line = worker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('p5 memory '))
    .at(-1);
  return line ? (JSON.parse(line.slice('p5 memory '.length)) as Memory) : undefined;
}

function mean(samples: Memory[]): Memory {
  const avg = (k: keyof Memory) => samples.reduce((a, s) => a + s[k], 0) / samples.length;
  return { openWaits: avg('openWaits'), rss: avg('rss'), heapUsed: avg('heapUsed'), external: avg('external') };
}

export async function p5Memory(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 150 : 1000;
  const settleSeconds = ctx.quick ? 10 : 20;
  const region = ctx.stack.aws.regions[0]!;
  const suffix = Date.now().toString(36);
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-p5-')), 'workflows.js');
  fs.writeFileSync(bundlePath, bundle.code);
  const { client, connection } = await stackClient(ctx.stack);

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
  const measured: Measured[] = [];
  try {
    for (const [c, config] of configs.entries()) {
      const jobName = `bench-p5-${suffix}-${c}`;
      await benchAws(ctx.stack)
        .glue(region)
        .send(
          new CreateJobCommand({
            Name: jobName,
            Role: 'arn:aws:iam::123456789012:role/glueline-bench',
            Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
            ExecutionProperty: { MaxConcurrentRuns: n + 10 },
          }),
        );
      // The warm-up run's job run ends at once; every other stays RUNNING.
      await ctx.gateway.scriptJobRuns(
        jobName,
        [
          { state: 'SUCCEEDED', afterSeconds: 0.5 },
          ...Array.from({ length: n }, () => ({ state: 'RUNNING' as const })),
        ],
        region,
      );
      const taskQueue = `bench-p5-${suffix}-${c}`;
      const input = (fastPolling: boolean) => {
        const base = testInput();
        const spec = { ...base.spec, transform: { ...base.spec.transform, jobName } };
        if (fastPolling)
          spec.polling = { glueJob: { initialIntervalMs: 200, maxIntervalMs: 200, backoffCoefficient: 1 } };
        return { ...base, spec };
      };
      const worker = startWorker(
        stackWorkerEnv(
          taskQueue,
          { P5_WORKFLOW_BUNDLE: bundlePath, GLUELINE_LOG_LEVEL: 'WARN', ...config.env },
          ctx.stack,
        ),
        'bench/p5-worker.ts',
      );
      const handles: WorkflowHandle[] = [];
      try {
        await waitForOutput(worker, 'p5 memory', 120_000);
        await client.workflow.execute('csvPipeline', {
          taskQueue,
          workflowId: `${taskQueue}-warm`,
          args: [input(true)],
        });
        await sleep(3_000);
        const idle = lastMemory(worker)!;
        ctx.log(`p5: ${config.label}: parking ${n} csvPipeline runs in their Glue wait`);
        const t0 = performance.now();
        for (let i = 0; i < n; i += 100) {
          handles.push(
            ...(await Promise.all(
              Array.from({ length: Math.min(100, n - i) }, (_, j) =>
                client.workflow.start('csvPipeline', {
                  taskQueue,
                  workflowId: `${taskQueue}-${i + j}`,
                  args: [input(false)],
                }),
              ),
            )),
          );
        }
        for (const end = Date.now() + 900_000; (lastMemory(worker)?.openWaits ?? 0) < n; await sleep(500)) {
          if (Date.now() > end || worker.child.exitCode !== null)
            throw new Error(`p5: only ${lastMemory(worker)?.openWaits} of ${n} runs parked:\n${worker.output()}`);
        }
        const parkSeconds = (performance.now() - t0) / 1000;
        const samples: Memory[] = [];
        for (let s = 0; s < settleSeconds; s++, await sleep(1_000)) samples.push(lastMemory(worker)!);
        measured.push({ ...config, idle, parked: mean(samples), parkSeconds });
        ctx.log(`p5: ${config.label}: ${fmt((mean(samples).rss - idle.rss) / MiB)} MiB for ${n} runs`);
      } finally {
        for (let i = 0; i < handles.length; i += 100)
          await Promise.all(handles.slice(i, i + 100).map((h) => h.terminate('bench p5 done').catch(() => undefined)));
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    }
  } finally {
    await connection.close();
    fs.rmSync(path.dirname(bundlePath), { recursive: true, force: true });
  }

  const perRunKiB = (m: Measured, k: keyof Memory = 'rss') => (m.parked[k] - m.idle[k]) / 1024 / n;
  const [all, tuned, uncached] = measured as [Measured, Measured, Measured];
  const figures = [
    figure({
      name: `P5 worker RSS per open csvPipeline run in its Glue wait, glueline defaults (${n} runs)`,
      value: perRunKiB(tuned),
      unit: 'KiB',
      baselineName: 'cache holding every run',
      baseline: perRunKiB(all),
      goal: '≤ 1024 KiB',
    }),
    figure({
      name: `P5 worker RSS per open run without a workflow cache (the heartbeating wait alone)`,
      value: perRunKiB(uncached),
      unit: 'KiB',
      baselineName: 'cache holding every run',
      baseline: perRunKiB(all),
    }),
    figure({
      name: `P5 worker RSS with ${n} runs parked, glueline defaults`,
      value: tuned.parked.rss / MiB,
      unit: 'MiB',
      baselineName: 'the same worker idle',
      baseline: tuned.idle.rss / MiB,
    }),
  ];
  const markdown = [
    `${n} csvPipeline runs parked at once in their Glue wait (the real waitForGlueJobRun: heartbeats, GetJobRun on the`,
    `default schedule against job runs the gateway keeps RUNNING) on one worker process, once per configuration, each`,
    `in a fresh process on its own task queue. Idle: after one warm-up run; parked: the mean of ${settleSeconds} samples`,
    '(one a second) once every run was in its wait. The Node heap is part of RSS; the rest of the growth is the',
    "SDK's Rust core (workflow state machines, activity heartbeats) and allocator slack.",
    '',
    '| configuration | idle RSS (MiB) | parked RSS (MiB) | KiB RSS per run | KiB heap per run | KiB external per run | seconds to park all |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...measured.map(
      (m) =>
        `| ${m.label} | ${fmt(m.idle.rss / MiB)} | ${fmt(m.parked.rss / MiB)} | ${fmt(perRunKiB(m))} | ${fmt(perRunKiB(m, 'heapUsed'))} | ${fmt(perRunKiB(m, 'external'))} | ${fmt(m.parkSeconds)} |`,
    ),
    '',
    `A cached run costs about ${fmt((all.parked.rss - uncached.parked.rss) / 1024 / n)} KiB more than an evicted one (cache holding`,
    'every run against no cache); an evicted run parked in its wait costs only its heartbeating activity. The Node heap',
    "figures are the main thread's (activities); workflows run in the SDK's workflow thread, whose heap is only in RSS.",
    '',
    'KiB of worker RSS per open run:',
    '',
    barChart(measured.map((m) => ({ label: m.label, value: Math.max(0, perRunKiB(m)), note: fmt(perRunKiB(m)) }))),
  ].join('\n');
  return {
    id: 'p5',
    title: 'P5: memory per open run',
    setup: `${n} runs parked at once, per configuration`,
    figures,
    markdown,
    raw: { n, measured },
  };
}
