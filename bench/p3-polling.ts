/**
 * P3, polling cost and detection lag, as a sweep: Glue job runs of 0.5×, 1× and 2× the job's history, one that
 * fails early and one of a job without successful runs, each waited for by the real waitForGlueJobRun activity
 * (in a MockActivityEnvironment) with glueline's default policy, the previous default and a fixed 6 s poll.
 * Every case and strategy runs at once in each repetition (interleaved), compressed by a time scale, with jobs
 * of their own made for each repetition (so a run never becomes the history of the next). GetJobRun calls come
 * from the gateway's counts; lag from the run's CompletedOn and the time the wait returned.
 */
import { CreateJobCommand, GetJobRunCommand, StartJobRunCommand, type GlueClient } from '@aws-sdk/client-glue';
import { createGlueActivities } from '../src/activities/glue';
import { elapsedDelayMs, expectedDurationOf, jobRunDelayMs, lookTimesMs, nearEndIntervalMs } from '../src/aws/waiter';
import type { GluelineActivities } from '../src/workflow-safe/activity-types';
import { DEFAULT_POLLING, type PollPolicy } from '../src/workflow-safe/spec';
import {
  activityEnv,
  barChart,
  benchAws,
  benchDeps,
  medianFigure,
  fmt,
  median,
  medianCell,
  type BenchContext,
  type BenchResult,
  type Figure,
} from './support';

/**
 * AWS seconds per real second: every scripted duration and every poll interval is divided by it. 20, not 60: on a
 * loaded machine a timer or call 100 ms late reads as 2 s of AWS time, not 6.
 */
const SCALE = 20;
/** Durations of the job's earlier successful runs (AWS seconds). */
const HISTORY_SECONDS = [590, 605, 615];
/** The history as the wait reads it (AWS ms), for the near-end interval the default derives from it. */
const HISTORY = expectedDurationOf(HISTORY_SECONDS.map((s) => s * 1000))!;

const CASES = {
  half: { label: '0.5× the history (300 s)', seconds: 300, fails: false, history: true },
  within: { label: '1× the history (600 s)', seconds: 600, fails: false, history: true },
  double: { label: '2× the history (1200 s)', seconds: 1200, fails: false, history: true },
  early: { label: 'fails early (FAILED at 30 s)', seconds: 30, fails: true, history: true },
  none: { label: 'no history (600 s)', seconds: 600, fails: false, history: false },
} as const;
type Case = keyof typeof CASES;

const STRATEGIES = {
  glueline: { label: 'glueline default', policy: DEFAULT_POLLING.glueJob as PollPolicy },
  previous: {
    label: 'previous default (15 s ×1.5 → 60 s)',
    policy: { initialIntervalMs: 15_000, maxIntervalMs: 60_000, backoffCoefficient: 1.5 },
  },
  fixed: {
    label: 'fixed 6 s (Airflow GlueJobOperator)',
    policy: { initialIntervalMs: 6_000, maxIntervalMs: 6_000, backoffCoefficient: 1 },
  },
} satisfies Record<string, { label: string; policy: PollPolicy }>;
type Strategy = keyof typeof STRATEGIES;

/**
 * A policy at the time scale. The default's near-end interval is derived from the history with absolute bounds
 * (1-8 s), which a scaled history would hit: it is set to what the unscaled history gives, scaled.
 */
function scaled(p: PollPolicy): PollPolicy {
  const nearEnd = p.expectedDurationFrom === 'history' ? nearEndIntervalMs(HISTORY, p) : p.nearEndIntervalMs;
  return {
    ...p,
    initialIntervalMs: p.initialIntervalMs / SCALE,
    maxIntervalMs: p.maxIntervalMs / SCALE,
    ...(nearEnd === undefined ? {} : { nearEndIntervalMs: nearEnd / SCALE }),
  };
}

interface Sample {
  case: Case;
  strategy: Strategy;
  rep: number;
  getJobRunCalls: number;
  getJobRunsCalls: number;
  /** AWS seconds from CompletedOn to the wait's return. */
  lagSeconds: number;
  /** AWS seconds between the last poll that saw the run unfinished and the one that saw it end. */
  worstCaseLagSeconds: number;
}

interface Setup {
  ctx: BenchContext;
  glue: GlueClient;
  region: string;
  activities: Pick<GluelineActivities, 'waitForGlueJobRun'>;
  pollTimes: Map<string, number[]>;
}

export async function p3Polling(ctx: BenchContext): Promise<BenchResult> {
  const aws = benchAws(ctx.stack);
  const region = ctx.stack.aws.regions[0]!;
  const glue = aws.glue(region);
  const setup: Setup = {
    ctx,
    glue,
    region,
    activities: createGlueActivities(benchDeps(ctx.stack, aws)),
    pollTimes: recordPollTimes(glue),
  };
  const reps = ctx.quick ? 3 : 5;
  const suffix = Date.now().toString(36);
  const jobs = Array.from({ length: reps }, (_, i) => jobsOf(`${suffix}-${i + 1}`));
  ctx.log(`p3: jobs and their history for ${reps} repetitions (${Math.max(...HISTORY_SECONDS) / SCALE} s)`);
  await makeJobs(setup, jobs.flat());
  const samples: Sample[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    ctx.log(
      `p3: rep ${rep}/${reps}: ${Object.keys(CASES).length} cases × ${Object.keys(STRATEGIES).length} strategies at once`,
    );
    samples.push(...(await Promise.all(jobs[rep - 1]!.map((j) => measure(setup, rep, j.c, j.strategy, j.jobName)))));
  }
  return report(samples, reps);
}

interface Job {
  c: Case;
  strategy: Strategy;
  jobName: string;
}

/** A job for every case and strategy of one repetition: no name is the prefix of another (gateway counts). */
function jobsOf(suffix: string): Job[] {
  return (Object.keys(CASES) as Case[]).flatMap((c) =>
    (Object.keys(STRATEGIES) as Strategy[]).map((strategy) => ({
      c,
      strategy,
      jobName: `bp3-${suffix}-${c}-${strategy}`,
    })),
  );
}

/** GetJobRun times per job, from a middleware on the client the activity uses. */
function recordPollTimes(glue: GlueClient): Map<string, number[]> {
  const pollTimes = new Map<string, number[]>();
  glue.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { JobName?: string };
      if (context.commandName !== 'GetJobRunCommand' || !input.JobName) return next(args);
      const out = await next(args);
      pollTimes.get(input.JobName)?.push(Date.now());
      return out;
    },
    { step: 'initialize', name: 'benchPollTimes' },
  );
  return pollTimes;
}

/**
 * Creates the jobs, and runs the history of those whose case has one: earlier runs that succeeded after
 * 590-615 s, side by side (only glueline's default reads it; the other strategies' jobs need none).
 */
async function makeJobs(setup: Setup, jobs: Job[]): Promise<void> {
  const { ctx, glue, region, activities } = setup;
  for (const { jobName } of jobs) {
    await glue.send(
      new CreateJobCommand({
        Name: jobName,
        Role: 'arn:aws:iam::123456789012:role/glueline-bench',
        Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
        ExecutionProperty: { MaxConcurrentRuns: HISTORY_SECONDS.length },
      }),
    );
  }
  const fastPolling = { initialIntervalMs: 100, maxIntervalMs: 100, backoffCoefficient: 1 };
  await Promise.all(
    jobs
      .filter((j) => CASES[j.c].history && j.strategy === 'glueline')
      .map(async ({ jobName }) => {
        await ctx.gateway.scriptJobRuns(
          jobName,
          HISTORY_SECONDS.map((s) => ({ state: 'SUCCEEDED' as const, afterSeconds: s / SCALE })),
        );
        const started = await Promise.all(
          HISTORY_SECONDS.map(() => glue.send(new StartJobRunCommand({ JobName: jobName }))),
        );
        await Promise.all(
          started.map((r) =>
            activityEnv().run(activities.waitForGlueJobRun, {
              region,
              jobName,
              jobRunId: r.JobRunId!,
              polling: fastPolling,
            }),
          ),
        );
      }),
  );
}

/** One scripted run of `c`, waited for on `strategy`'s schedule. */
async function measure(setup: Setup, rep: number, c: Case, strategy: Strategy, jobName: string): Promise<Sample> {
  const { ctx, glue, region, activities, pollTimes } = setup;
  const { seconds, fails } = CASES[c];
  await ctx.gateway.scriptJobRuns(jobName, [
    fails
      ? { state: 'FAILED', errorMessage: 'bench p3: an early failure', afterSeconds: seconds / SCALE }
      : { state: 'SUCCEEDED', afterSeconds: seconds / SCALE },
  ]);
  await ctx.gateway.resetCounts(jobName);
  pollTimes.set(jobName, []);
  const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: jobName }));
  const ended = await activityEnv()
    .run(activities.waitForGlueJobRun, {
      region,
      jobName,
      jobRunId: JobRunId!,
      polling: scaled(STRATEGIES[strategy].policy),
    })
    .then(
      () => 'SUCCEEDED',
      (err: unknown) => (fails ? 'FAILED' : Promise.reject(err)),
    );
  const returnedMs = Date.now();
  const counts = await ctx.gateway.counts(jobName);
  // Copied before the look below, which goes through the same client.
  const times = [...pollTimes.get(jobName)!];
  const { JobRun } = await glue.send(new GetJobRunCommand({ JobName: jobName, RunId: JobRunId }));
  if (JobRun?.JobRunState !== ended)
    throw new Error(`p3: ${jobName} ended ${JobRun?.JobRunState}, the wait saw ${ended}`);
  return {
    case: c,
    strategy,
    rep,
    getJobRunCalls: counts['glue:GetJobRun']?.count ?? 0,
    getJobRunsCalls: counts['glue:GetJobRuns']?.count ?? 0,
    lagSeconds: ((returnedMs - JobRun.CompletedOn!.getTime()) * SCALE) / 1000,
    worstCaseLagSeconds: times.length < 2 ? 0 : ((times.at(-1)! - times.at(-2)!) * SCALE) / 1000,
  };
}

/**
 * What the schedule itself gives, computed rather than timed (unjittered, in AWS time): calls (with glueline's
 * GetJobRuns) and the gap between the last two looks.
 */
function computed(c: Case, s: Strategy): { calls: number; worstCaseLagSeconds: number } {
  const policy: PollPolicy = STRATEGIES[s].policy;
  const expected = CASES[c].history && policy.expectedDurationFrom === 'history' ? HISTORY : undefined;
  const schedule = (e: number) => jobRunDelayMs(e, expected, policy) ?? elapsedDelayMs(e, policy);
  const times = lookTimesMs(CASES[c].seconds * 1000, schedule);
  const history = policy.expectedDurationFrom === 'history' ? 1 : 0;
  return { calls: times.length + history, worstCaseLagSeconds: (times.at(-1)! - times.at(-2)!) / 1000 };
}

/** The figures (glueline's default against the fixed 6 s poll, per case) and the tables. */
function report(samples: Sample[], reps: number): BenchResult {
  const of = (c: Case, s: Strategy, f: (x: Sample) => number) =>
    samples.filter((x) => x.case === c && x.strategy === s).map(f);
  const calls = (x: Sample) => x.getJobRunCalls + x.getJobRunsCalls;
  const worst = (x: Sample) => x.worstCaseLagSeconds;
  const pair = (c: Case, what: string, unit: string, f: (x: Sample) => number, goal?: string): Figure =>
    medianFigure({
      name: `${STRATEGIES.glueline.label}, ${CASES[c].label}: ${what}`,
      values: of(c, 'glueline', f),
      unit,
      baselineName: STRATEGIES.fixed.label,
      baselines: of(c, 'fixed', f),
      goal,
    });
  const figures = (Object.keys(CASES) as Case[]).flatMap((c) => [
    pair(c, 'Glue calls', 'calls', calls, c === 'within' ? '≤ 20' : undefined),
    pair(c, 'worst-case detection lag', 's', worst, c === 'within' ? '≤ 10 s' : undefined),
  ]);
  const rows = (Object.keys(CASES) as Case[]).flatMap((c) =>
    (Object.keys(STRATEGIES) as Strategy[]).map((s) => {
      const cell = (f: (x: Sample) => number, unit = '') => medianCell(of(c, s, f), unit);
      const schedule = computed(c, s);
      return `| ${CASES[c].label} | ${STRATEGIES[s].label} | ${cell(calls)} | ${cell((x) => x.lagSeconds)} | ${cell(worst)} | ${schedule.calls} | ${fmt(schedule.worstCaseLagSeconds)} |`;
    }),
  );
  const chart = (f: (x: Sample) => number) =>
    barChart(
      (Object.keys(CASES) as Case[]).flatMap((c) =>
        (Object.keys(STRATEGIES) as Strategy[]).map((s) => ({
          label: `${CASES[c].label}, ${STRATEGIES[s].label}`,
          value: median(of(c, s, f)),
        })),
      ),
    );
  const markdown = [
    `Glue job runs scripted at the gateway, at time scale ${SCALE}: every duration and every poll interval is divided by ${SCALE}`,
    `(the activity's timers run in real time, so the whole schedule is compressed). Lag is in AWS seconds (real × ${SCALE}),`,
    `so 10 ms of timer or HTTP delay on this shared machine reads as ${fmt((10 * SCALE) / 1000)} s. ${reps} repetitions; in each, every case and`,
    'strategy waits at once (interleaved), on jobs of its own. Medians, with min–max and n. Worst-case lag is the gap',
    'between the last two polls (a run ending anywhere in it would be seen at the last).',
    `The cases with a history run a job that first succeeded ${HISTORY_SECONDS.length} times (${HISTORY_SECONDS.join(', ')} s);`,
    "glueline's calls include its one GetJobRuns. Its near-end interval is what the default derives from that history",
    `(${nearEndIntervalMs(HISTORY, DEFAULT_POLLING.glueJob as PollPolicy) / 1000} s), scaled.`,
    '',
    'The last two columns are what the schedule gives for the same case, computed from the schedule functions',
    '(unjittered, no call latency): what the measured figures would be on an idle machine.',
    '',
    '| case | strategy | calls | measured lag (s) | worst-case lag (s) | schedule: calls | schedule: worst-case lag (s) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Glue calls per run (median):',
    '',
    chart(calls),
    '',
    'Worst-case detection lag (AWS seconds, median):',
    '',
    chart(worst),
  ].join('\n');
  return {
    id: 'p3',
    title: 'P3: polling cost and detection lag (a sweep of Glue job runs)',
    setup: `time scale ${SCALE}; ${reps} interleaved repetitions`,
    figures,
    markdown,
    raw: { scale: SCALE, historySeconds: HISTORY_SECONDS, cases: CASES, samples },
  };
}
