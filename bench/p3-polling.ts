/**
 * P3, polling cost and detection lag: one 10-minute Glue job run per strategy, compressed by a time
 * scale, waited for by the real waitForGlueJobRun activity (in a MockActivityEnvironment). GetJobRun
 * calls come from the gateway's counts; lag from the run's CompletedOn and the time the wait returned.
 */
import { CreateJobCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { createGlueActivities } from '../src/activities/glue';
import type { GlueJobRunResult } from '../src/workflow-safe/activity-types';
import { DEFAULT_POLLING, type PollPolicy } from '../src/workflow-safe/spec';
import {
  activityEnv,
  barChart,
  benchAws,
  benchDeps,
  figure,
  fmt,
  type BenchContext,
  type BenchResult,
} from './support';

/** AWS seconds per real second: the job's duration and every poll interval are divided by it. */
const SCALE = 60;
const JOB_SECONDS = 600;
/** Durations of the smart job's earlier runs (AWS seconds). */
const HISTORY_SECONDS = [590, 605, 615];

const scaled = (p: PollPolicy): PollPolicy => ({
  ...p,
  initialIntervalMs: p.initialIntervalMs / SCALE,
  maxIntervalMs: p.maxIntervalMs / SCALE,
  ...(p.nearEndIntervalMs === undefined ? {} : { nearEndIntervalMs: p.nearEndIntervalMs / SCALE }),
});

const STRATEGIES = {
  airflow: {
    label: 'fixed 6 s (Airflow GlueJobOperator)',
    policy: { initialIntervalMs: 6_000, maxIntervalMs: 6_000, backoffCoefficient: 1 },
  },
  default: { label: 'glueline default (15 s ×1.5 → 60 s)', policy: DEFAULT_POLLING.glueJob },
  history: {
    label: "glueline expectedDurationFrom: 'history'",
    policy: { ...DEFAULT_POLLING.glueJob, expectedDurationFrom: 'history', nearEndIntervalMs: 5_000 },
  },
} satisfies Record<string, { label: string; policy: PollPolicy }>;
type Strategy = keyof typeof STRATEGIES;

interface Sample {
  strategy: Strategy;
  rep: number;
  getJobRunCalls: number;
  getJobRunsCalls: number;
  /** AWS seconds from CompletedOn to the wait's return. */
  lagSeconds: number;
  /** AWS seconds between the last poll that saw the run unfinished and the one that saw it end. */
  worstCaseLagSeconds: number;
}

export async function p3Polling(ctx: BenchContext): Promise<BenchResult> {
  const aws = benchAws(ctx.stack);
  const region = ctx.stack.aws.regions[0]!;
  const glue = aws.glue(region);
  const activities = createGlueActivities(benchDeps(ctx.stack, aws));
  const reps = ctx.quick ? 1 : 3;
  const suffix = Date.now().toString(36);
  const jobs = Object.fromEntries(Object.keys(STRATEGIES).map((s) => [s, `bench-p3-${s}-${suffix}`])) as Record<
    Strategy,
    string
  >;

  // Poll times per job, from a middleware on the client the activity uses.
  const pollTimes = new Map<string, number[]>();
  glue.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { JobName?: string };
      if (context.commandName === 'GetJobRunCommand' && input.JobName) {
        const list = pollTimes.get(input.JobName) ?? [];
        pollTimes.set(input.JobName, list);
        const out = await next(args);
        list.push(Date.now());
        return out;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchPollTimes' },
  );

  for (const jobName of Object.values(jobs)) {
    await glue.send(
      new CreateJobCommand({
        Name: jobName,
        Role: 'arn:aws:iam::123456789012:role/glueline-bench',
        Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
        ExecutionProperty: { MaxConcurrentRuns: 5 },
      }),
    );
  }
  // The smart job's history: earlier runs that succeeded after 590-615 s, run side by side.
  ctx.log(`p3: ${HISTORY_SECONDS.length} history runs of ${jobs.history} (${Math.max(...HISTORY_SECONDS) / SCALE} s)`);
  await ctx.gateway.scriptJobRuns(
    jobs.history,
    HISTORY_SECONDS.map((s) => ({ state: 'SUCCEEDED', afterSeconds: s / SCALE })),
  );
  const historyRuns = await Promise.all(
    HISTORY_SECONDS.map(() => glue.send(new StartJobRunCommand({ JobName: jobs.history }))),
  );
  await Promise.all(
    historyRuns.map((r) =>
      activityEnv().run(activities.waitForGlueJobRun, {
        region,
        jobName: jobs.history,
        jobRunId: r.JobRunId!,
        polling: { initialIntervalMs: 100, maxIntervalMs: 100, backoffCoefficient: 1 },
      }),
    ),
  );

  const samples: Sample[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    ctx.log(
      `p3: rep ${rep}/${reps}: three ${JOB_SECONDS} s runs at time scale ${SCALE} (${JOB_SECONDS / SCALE} s each)`,
    );
    await Promise.all(
      (Object.keys(STRATEGIES) as Strategy[]).map(async (strategy) => {
        const jobName = jobs[strategy];
        await ctx.gateway.scriptJobRuns(jobName, [{ state: 'SUCCEEDED', afterSeconds: JOB_SECONDS / SCALE }]);
        await ctx.gateway.resetCounts(jobName);
        pollTimes.set(jobName, []);
        const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: jobName }));
        const result = (await activityEnv().run(activities.waitForGlueJobRun, {
          region,
          jobName,
          jobRunId: JobRunId!,
          polling: scaled(STRATEGIES[strategy].policy),
        })) as GlueJobRunResult;
        const returnedMs = Date.now();
        const counts = await ctx.gateway.counts(jobName);
        const times = pollTimes.get(jobName)!;
        const completedMs = new Date(result.completedOn!).getTime();
        samples.push({
          strategy,
          rep,
          getJobRunCalls: counts['glue:GetJobRun']?.count ?? 0,
          getJobRunsCalls: counts['glue:GetJobRuns']?.count ?? 0,
          lagSeconds: ((returnedMs - completedMs) * SCALE) / 1000,
          worstCaseLagSeconds: times.length < 2 ? 0 : ((times.at(-1)! - times.at(-2)!) * SCALE) / 1000,
        });
      }),
    );
  }

  const mean = (s: Strategy, f: (x: Sample) => number) => {
    const xs = samples.filter((x) => x.strategy === s).map(f);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const calls = (s: Strategy) => mean(s, (x) => x.getJobRunCalls + x.getJobRunsCalls);
  const worst = (s: Strategy) => Math.max(...samples.filter((x) => x.strategy === s).map((x) => x.worstCaseLagSeconds));
  const lag = (s: Strategy) => mean(s, (x) => x.lagSeconds);

  const figures = (['default', 'history'] as Strategy[]).flatMap((s) => [
    figure({
      name: `${STRATEGIES[s].label}: Glue calls per 10-min run`,
      value: calls(s),
      unit: 'calls',
      baselineName: STRATEGIES.airflow.label,
      baseline: calls('airflow'),
      goal: s === 'history' ? '≤ 20' : undefined,
    }),
    figure({
      name: `${STRATEGIES[s].label}: worst-case detection lag`,
      value: worst(s),
      unit: 's',
      baselineName: STRATEGIES.airflow.label,
      baseline: worst('airflow'),
      goal: s === 'history' ? '≤ 10 s' : undefined,
    }),
  ]);

  const rows = (Object.keys(STRATEGIES) as Strategy[]).map(
    (s) =>
      `| ${STRATEGIES[s].label} | ${fmt(mean(s, (x) => x.getJobRunCalls))} | ${fmt(mean(s, (x) => x.getJobRunsCalls))} | ${fmt(calls(s))} | ${fmt(calls(s) / calls('airflow'), 2)} | ${fmt(lag(s))} | ${fmt(worst(s))} |`,
  );
  const markdown = [
    `A Glue job run scripted at the gateway to succeed after ${JOB_SECONDS} s, at time scale ${SCALE}: the run lasts ${JOB_SECONDS / SCALE} s`,
    `and every poll interval is divided by ${SCALE} (the activity's timers run in real time, so the whole schedule is compressed,`,
    `not the gateway's clock). Lag is in AWS seconds (real × ${SCALE}), so 10 ms of timer jitter on this shared machine reads as 0.6 s.`,
    `Mean of ${reps} run(s) per strategy; worst-case lag is the longest gap between the last two polls (a run ending anywhere in it).`,
    `The history strategy's job first ran ${HISTORY_SECONDS.length} times (${HISTORY_SECONDS.join(', ')} s); its calls include the one GetJobRuns.`,
    '',
    '| strategy | GetJobRun | GetJobRuns | calls | × Airflow | measured lag (s) | worst-case lag (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Glue calls per 10-minute run:',
    '',
    barChart((Object.keys(STRATEGIES) as Strategy[]).map((s) => ({ label: STRATEGIES[s].label, value: calls(s) }))),
    '',
    'Worst-case detection lag (AWS seconds):',
    '',
    barChart((Object.keys(STRATEGIES) as Strategy[]).map((s) => ({ label: STRATEGIES[s].label, value: worst(s) }))),
  ].join('\n');

  return {
    id: 'p3',
    title: 'P3: polling cost and detection lag (10-minute Glue job)',
    setup: `time scale ${SCALE}; ${reps} rep(s)`,
    figures,
    markdown,
    raw: { scale: SCALE, jobSeconds: JOB_SECONDS, historySeconds: HISTORY_SECONDS, samples },
  };
}
