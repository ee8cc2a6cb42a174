/**
 * P9, end to end with the default spec: csvPipeline on the real worker process (`src/worker.ts`) against the
 * stack, with issue 19's scripted timings: 1 s crawls (READY half a second later, as the gateway's crawls
 * end) and a 60 s Glue job, so 63 s of AWS work on the critical path (crawl-raw, transform, crawl-curated).
 * The figure is how long the run takes over that path with the default spec's polling, against fixed 1 s
 * polling everywhere: both configurations run at once in each repetition, on one worker and one stack. One
 * warm-up run per configuration comes first: it gives the Glue job the history a pipeline that runs every day has
 * (its first run, without history, is reported apart). The spec's Redshift databases are opened at provisioning, as
 * the demo does, so each region's redshift-refresh step is timed on a warm local Redshift.
 */
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { FINISHING_SECONDS } from '../devstack/gateway/glue-crawlers';
import { landBatch } from '../devstack/testkit/scripted-pipeline';
import { stackClient } from '../devstack/testkit/stack';
import { startWorker, stackWorkerEnv, waitForOutput } from '../devstack/testkit/worker-process';
import { csvPipelineStartOptions } from '../src/starters/start-options';
import type { PipelineResult } from '../src/workflow-safe/pipeline';
import type { PipelineSpec, PipelineSpecInput } from '../src/workflow-safe/spec';
import {
  barChart,
  medianFigure,
  fmt,
  median,
  medianCell,
  provisionedBenchSpec,
  type BenchContext,
  type BenchResult,
  type Figure,
} from './support';

const CRAWL_SECONDS = 1;
const JOB_SECONDS = 60;
/** crawl-raw, transform, crawl-curated: each crawl is over when the crawler is READY again. */
const CRITICAL_PATH_SECONDS = 2 * (CRAWL_SECONDS + FINISHING_SECONDS) + JOB_SECONDS;
const ONE_SECOND = { initialIntervalMs: 1_000, maxIntervalMs: 1_000, backoffCoefficient: 1 };

const CONFIGS = {
  defaults: { label: 'default spec (no polling settings)', polling: undefined },
  fixed: {
    label: 'fixed 1 s polling everywhere',
    polling: { glueJob: ONE_SECOND, crawler: ONE_SECOND, redshift: ONE_SECOND },
  },
} as const;
type Config = keyof typeof CONFIGS;

interface Sample {
  config: Config;
  /** 0: the warm-up run. */
  rep: number;
  /** WorkflowExecutionStarted to WorkflowExecutionCompleted, seconds. */
  seconds: number;
  overSeconds: number;
  /** Polls of every wait of the run, by step kind. */
  polls: Record<string, number>;
  /** The redshift-refresh step of each region, start to end (its statements on the local Redshift, and the wait). */
  refreshMs: number[];
}

export async function p9EndToEnd(ctx: BenchContext): Promise<BenchResult> {
  const reps = ctx.quick ? 3 : 5;
  const taskQueue = `bench-p9-${Date.now().toString(36)}`;
  const specs = {} as Record<Config, PipelineSpecInput>;
  for (const config of Object.keys(CONFIGS) as Config[]) specs[config] = await specFor(ctx, config);
  const worker = startWorker(stackWorkerEnv(taskQueue, {}, ctx.stack));
  const { client, connection } = await stackClient(ctx.stack);
  const samples: Sample[] = [];
  try {
    await waitForOutput(worker, 'glueline worker started', 120_000);
    for (let rep = 0; rep <= reps; rep++) {
      ctx.log(
        `p9: ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}: both configurations at once (~${CRITICAL_PATH_SECONDS} s)`,
      );
      const run = async (config: Config): Promise<Sample> => {
        const spec = specs[config];
        const batch = await landBatch(
          spec as PipelineSpec,
          `p9-${config}-${rep}-${Date.now().toString(36)}`,
          ctx.stack,
        );
        await ctx.gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: JOB_SECONDS }]);
        const options = csvPipelineStartOptions({ spec, batch }, { taskQueue });
        const handle = await client.workflow.start('csvPipeline', {
          ...options,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        });
        const result = (await handle.result()) as PipelineResult;
        const events = (await handle.fetchHistory()).events ?? [];
        const seconds = (tsToMs(events.at(-1)!.eventTime) - tsToMs(events[0]!.eventTime)) / 1000;
        const polls: Record<string, number> = {};
        for (const s of result.steps) polls[s.name] = (polls[s.name] ?? 0) + (s.counts.polls ?? 0);
        const refreshMs = result.steps.filter((s) => s.name === 'redshift-refresh').map((s) => s.durationMs ?? NaN);
        return { config, rep, seconds, overSeconds: seconds - CRITICAL_PATH_SECONDS, polls, refreshMs };
      };
      const done = await Promise.all((Object.keys(CONFIGS) as Config[]).map(run));
      for (const s of done)
        ctx.log(`p9: ${CONFIGS[s.config].label}: ${fmt(s.seconds)} s (${fmt(s.overSeconds)} s over)`);
      samples.push(...done);
    }
  } finally {
    await connection.close();
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  return report(samples, reps);
}

/** A provisioned spec of its own for `config`: the scripted pipeline's, with the config's polling or none. */
async function specFor(ctx: BenchContext, config: Config): Promise<PipelineSpecInput> {
  const spec: PipelineSpecInput = await provisionedBenchSpec(ctx);
  return CONFIGS[config].polling ? { ...spec, polling: CONFIGS[config].polling } : spec;
}

function report(samples: Sample[], reps: number): BenchResult {
  const measured = samples.filter((s) => s.rep > 0);
  const of = (config: Config, f: (s: Sample) => number) => measured.filter((s) => s.config === config).map(f);
  const pair = (name: string, unit: string, f: (s: Sample) => number, goal?: string): Figure =>
    medianFigure({
      name,
      values: of('defaults', f),
      unit,
      baselineName: CONFIGS.fixed.label,
      baselines: of('fixed', f),
      goal,
    });
  const polls = (kind: string) => (s: Sample) => s.polls[kind] ?? 0;
  const refreshes = (config: Config, rep?: number) =>
    samples
      .filter((s) => s.config === config && (rep === undefined ? s.rep > 0 : s.rep === rep))
      .flatMap((s) => s.refreshMs);
  const figures = [
    pair(
      `P9 default-spec pipeline: time over its ${CRITICAL_PATH_SECONDS} s AWS critical path`,
      's',
      (s) => s.overSeconds,
      '≤ 5 s',
    ),
    pair('P9 default-spec pipeline: GetJobRun polls of the 60 s Glue job', 'calls', polls('transform')),
    medianFigure({
      name: 'P9 redshift-refresh step on the warm local Redshift (two statements, each region)',
      values: refreshes('defaults'),
      unit: 'ms',
      baselineName: CONFIGS.fixed.label,
      baselines: refreshes('fixed'),
      goal: '≈ 1 s',
    }),
  ];
  const kinds = ['crawl-raw', 'transform', 'crawl-curated', 'redshift-refresh'];
  const rows = (Object.keys(CONFIGS) as Config[]).map((c) => {
    const cell = (f: (s: Sample) => number, unit = '') => medianCell(of(c, f), unit);
    const warm = samples.find((s) => s.rep === 0 && s.config === c);
    return `| ${CONFIGS[c].label} | ${cell((s) => s.seconds, 's')} | ${cell((s) => s.overSeconds, 's')} | ${kinds.map((k) => cell(polls(k))).join(' | ')} | ${medianCell(refreshes(c), 'ms')} | ${warm ? `${fmt(warm.overSeconds)} s; refresh ${medianCell(refreshes(c, 0), 'ms')}` : ''} |`;
  });
  const markdown = [
    `csvPipeline on the real worker process, its Glue job scripted to succeed after ${JOB_SECONDS} s and its crawls after`,
    `${CRAWL_SECONDS} s (READY ${FINISHING_SECONDS} s later): ${CRITICAL_PATH_SECONDS} s of AWS work on the critical path. The rest of the`,
    "pipeline (S3 copies, a two-statement refresh on the local Redshift, the hand-offs) and the waits' lag is the",
    `time over it. Both configurations run at once in each of ${reps} repetitions, after one warm-up each (the warm-up`,
    'gives the job its history; its own figures, without history, are the last column). Medians, with min–max and n.',
    "Polls: the steps' own counts (crawl-curated and redshift-refresh summed over both regions). Refresh: each region's",
    "redshift-refresh step, start to end, on the warm local Redshift (the spec's databases opened at provisioning).",
    '',
    `| configuration | run time | over the ${CRITICAL_PATH_SECONDS} s path | ${kinds.map((k) => `${k} polls`).join(' | ')} | refresh | warm-up: over the path |`,
    `| --- | ---: | ---: | ${kinds.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...rows,
    '',
    `Seconds over the ${CRITICAL_PATH_SECONDS} s AWS critical path (median):`,
    '',
    barChart(
      (Object.keys(CONFIGS) as Config[]).map((c) => ({
        label: CONFIGS[c].label,
        value: median(of(c, (s) => s.overSeconds)),
      })),
    ),
  ].join('\n');
  return {
    id: 'p9',
    title: 'P9: end to end with the default spec (63 s of AWS work on the critical path)',
    setup: `${reps} interleaved repetitions after one warm-up; real worker process; time scale 1`,
    figures,
    markdown,
    raw: { criticalPathSeconds: CRITICAL_PATH_SECONDS, samples },
  };
}
